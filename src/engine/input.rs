//! Handling provider events at the node the call waits at: menu choices
//! (options, speech words, global keys), digit entry, callback numbers,
//! survey ratings, and queue, dial and recording results.

use super::walk::Walker;
use super::{CallStatus, DialStatus, Event, Missed, Outcome, QueueResult, RecordKind, Wait};
use crate::program::{Exit, Key, NodeKind, Prompt};
use crate::routing::GroupTarget;

impl Walker<'_> {
    /// Apply one event.
    pub(super) fn handle(&mut self, event: Event) {
        if let Event::Status(status) = event {
            self.status(status);
            return;
        }
        let p = self.p;
        let node = &p.graph[self.s.at];
        match (self.s.wait, &node.kind, event) {
            (
                Wait::Choice,
                NodeKind::Menu(_),
                e @ (Event::Digits(_) | Event::Speech { .. } | Event::NoInput | Event::NoMatch),
            ) => self.menu(e),
            (
                Wait::Digits,
                NodeKind::Input(_),
                e @ (Event::Digits(_) | Event::Speech { .. } | Event::NoInput | Event::NoMatch),
            ) => self.digits(e),
            (
                Wait::CallbackNumber,
                NodeKind::Callback { .. },
                e @ (Event::Digits(_) | Event::NoInput | Event::NoMatch),
            ) => self.callback_number(e),
            (
                Wait::Rating,
                NodeKind::Survey { .. },
                e @ (Event::Digits(_) | Event::Speech { .. } | Event::NoInput | Event::NoMatch),
            ) => self.rating(e),
            (Wait::Queue, NodeKind::Queue(_), Event::Queue { result, waited }) => {
                self.queue_result(result, waited)
            }
            (Wait::Queue, NodeKind::Queue(_), Event::Claimed { room }) if self.s.room.is_none() => {
                self.here(RecordKind::Result {
                    result: "queue: taken by an agent".into(),
                });
                self.s.room = Some(room.clone());
                self.actions
                    .push(crate::action::Action::Conference { room, agent: false });
                self.advanced = true;
            }
            (Wait::Queue, NodeKind::Queue(_), Event::Dial(d)) if self.dialing_agents() => {
                let result = if d == DialStatus::Completed {
                    QueueResult::Bridged
                } else {
                    QueueResult::Timeout
                };
                self.queue_result(result, None)
            }
            (Wait::Dial, NodeKind::Transfer(t), Event::Dial(d)) => {
                self.here(RecordKind::Result {
                    result: format!("dial: {}", d.word()),
                });
                if d == DialStatus::Completed {
                    self.s.outcome.get_or_insert(super::Outcome::Transfer);
                    self.continue_or_end(t.next, Exit::AfterCall);
                } else {
                    self.route(
                        t.on_no_answer,
                        &format!("transfer {}", d.word()),
                        Some(Exit::NoAnswer),
                    );
                }
            }
            (
                Wait::Recording,
                NodeKind::Voicemail { group, next, .. },
                Event::Recording { url, seconds },
            ) => {
                let name = p
                    .groups
                    .get(group.index())
                    .map_or_else(String::new, |g| g.name.clone());
                self.here(RecordKind::Voicemail {
                    group: name,
                    url,
                    seconds,
                });
                self.s.outcome.get_or_insert(Outcome::Voicemail(*group));
                self.continue_or_end(*next, Exit::Next);
            }
            (Wait::Recording, NodeKind::Voicemail { next, .. }, Event::NoInput) => {
                self.missed(Missed::Timeout, 1, false);
                self.continue_or_end(*next, Exit::Next);
            }
            (Wait::Fallback, _, e @ (Event::Queue { .. } | Event::Dial(_))) => {
                let (result, waited) = match &e {
                    Event::Queue { result, waited } => (*result, *waited),
                    Event::Dial(DialStatus::Completed) => (QueueResult::Bridged, None),
                    _ => (QueueResult::Timeout, None),
                };
                self.s.tally.left(result, waited, self.now);
                self.here(RecordKind::Result {
                    result: e.describe(),
                });
                self.end(Outcome::Fallback)
            }
            (_, _, e) => {
                self.here(RecordKind::Ignored {
                    event: e.describe(),
                });
                self.repeat();
            }
        }
    }

    fn dialing_agents(&self) -> bool {
        let g = self
            .s
            .tried
            .last()
            .and_then(|g| self.p.groups.get(g.index()));
        matches!(g.map(|g| &g.target), Some(GroupTarget::Agents(_)))
    }

    fn status(&mut self, status: CallStatus) {
        self.here(RecordKind::Result {
            result: format!("call: {}", status.word()),
        });
        if self.s.wait != Wait::Ended {
            if matches!(self.s.wait, Wait::Queue | Wait::Fallback) {
                // Hung up in the queue, before its result came.
                self.s.tally.left(QueueResult::Hangup, None, self.now);
            }
            self.advanced = true;
            self.s.wait = Wait::Ended;
            let outcome = *self.s.outcome.get_or_insert(Outcome::Abandoned);
            self.here(RecordKind::Ended { outcome });
        }
    }

    /// Record a miss at the current node (try `attempt`; the last one if
    /// `gave_up`), in the call's records and its tally.
    fn missed(&mut self, how: Missed, attempt: u32, gave_up: bool) {
        self.here(match how {
            Missed::Timeout => RecordKind::NoInput { attempt },
            Missed::Invalid => RecordKind::Invalid { attempt },
        });
        let at = self.s.at.index() as u32;
        self.s.tally.missed(at, how, gave_up);
    }

    /// The caller chose `what` at the current node (for the funnel).
    fn chose(&mut self, what: &str) {
        let at = self.s.at.index() as u32;
        self.s.tally.chose(at, what);
    }

    /// A wrong or missing answer: try again, or take the failure route.
    fn miss(&mut self, miss: Missed, max: u32, reprompt: Option<&Prompt>) {
        self.advanced = true;
        self.s.attempts += 1;
        let attempt = self.s.attempts;
        self.missed(miss, attempt, attempt >= max);
        if attempt >= max {
            let target = self.p.failure_route(self.s.at);
            // Only the node's own `on_failure` is one of its exits; the operator is a global key.
            let own = match &self.p.graph[self.s.at].kind {
                NodeKind::Menu(m) => m.on_failure.is_some(),
                NodeKind::Input(i) => i.on_failure.is_some(),
                _ => false,
            };
            self.route(
                target,
                &format!("no valid answer after {attempt} tries"),
                own.then_some(Exit::Failure),
            );
            return;
        }
        if let Some(pr) = reprompt {
            self.say(pr);
        }
        self.emit_wait();
    }

    fn menu(&mut self, event: Event) {
        let p = self.p;
        let ix = self.s.at;
        let NodeKind::Menu(m) = &p.graph[ix].kind else {
            return;
        };
        let keys = &p.flows[p.graph[ix].flow.index()].keys;
        let chosen = match &event {
            Event::Digits(d) => {
                self.here(RecordKind::Keys { digits: d.clone() });
                let key = d.chars().next().and_then(|c| Key::parse(&c.to_string()));
                match key {
                    Some(k) => {
                        if let Some(o) = m.options.iter().find(|o| o.key == k) {
                            let exit = Exit::Option {
                                key: o.key,
                                words: o.words.clone(),
                                label: o.label.clone(),
                            };
                            Some((format!("pressed {k}"), o.target, Some(exit)))
                        } else if let Some((_, op)) = keys.operator.filter(|(ok, _)| *ok == k) {
                            self.chose("operator");
                            Some((format!("pressed {k}: operator"), op, None))
                        } else if keys.repeat == Some(k) {
                            self.chose("repeat");
                            self.advanced = true;
                            self.decided(format!("pressed {k}: repeat"));
                            self.emit_wait();
                            return;
                        } else if keys.back == Some(k) {
                            self.chose("back");
                            let here = self.s.menus.pop();
                            match self.s.menus.pop() {
                                Some(prev) => {
                                    // Back where the caller was, as the call was there (see `MenuVisit`).
                                    if let Some(returns) = prev.returns {
                                        self.s.returns = returns;
                                    }
                                    Some((format!("pressed {k}: back"), prev.menu, None))
                                }
                                None => {
                                    self.s.menus.extend(here);
                                    self.advanced = true;
                                    self.decided(format!(
                                        "pressed {k}: back, but this is the first menu"
                                    ));
                                    self.emit_wait();
                                    return;
                                }
                            }
                        } else if keys.top == Some(k) {
                            self.chose("top");
                            self.s.menus.clear();
                            Some((
                                format!("pressed {k}: top"),
                                p.flows[p.graph[ix].flow.index()].start,
                                None,
                            ))
                        } else {
                            None
                        }
                    }
                    None => None,
                }
            }
            Event::Speech { text, .. } => {
                self.here(RecordKind::Spoke { text: text.clone() });
                let said = text.to_lowercase();
                m.options
                    .iter()
                    .find(|o| o.words.iter().any(|w| super::says(&said, w)))
                    .map(|o| {
                        let exit = Exit::Option {
                            key: o.key,
                            words: o.words.clone(),
                            label: o.label.clone(),
                        };
                        (format!("said \"{text}\""), o.target, Some(exit))
                    })
            }
            Event::NoMatch => None,
            _ => {
                self.miss(Missed::Timeout, m.attempts, m.no_input_prompt.as_ref());
                return;
            }
        };
        match chosen {
            Some((why, target, exit)) => {
                let name = p.graph[target].id.clone();
                self.decided(format!("{why} → {name}"));
                if let Some(e) = exit {
                    if let Exit::Option { key, .. } = &e {
                        self.chose(&key.to_string());
                    }
                    self.took(e);
                }
                self.go(target);
            }
            None => self.miss(Missed::Invalid, m.attempts, m.invalid_prompt.as_ref()),
        }
    }

    fn digits(&mut self, event: Event) {
        let p = self.p;
        let NodeKind::Input(i) = &p.graph[self.s.at].kind else {
            return;
        };
        let entered = match event {
            Event::Digits(d) => {
                if !i.sensitive {
                    self.here(RecordKind::Keys { digits: d.clone() });
                }
                d
            }
            Event::Speech { text, .. } => {
                if !i.sensitive {
                    self.here(RecordKind::Spoke { text: text.clone() });
                }
                text.chars().filter(char::is_ascii_digit).collect()
            }
            Event::NoMatch => {
                self.miss(Missed::Invalid, i.attempts, i.invalid_prompt.as_ref());
                return;
            }
            _ => {
                self.miss(Missed::Timeout, i.attempts, i.no_input_prompt.as_ref());
                return;
            }
        };
        let entered = zeroize::Zeroizing::new(match i.finish_key {
            Some(k) => entered.trim_end_matches(k.as_char()).to_owned(),
            None => entered,
        });
        let len = entered.chars().count() as u32;
        let valid = !entered.is_empty()
            && entered.chars().all(|c| c.is_ascii_digit())
            && (i.min_digits..=i.max_digits).contains(&len)
            && i.pattern.as_ref().is_none_or(|r| r.is_match(&entered));
        if i.sensitive && !entered.is_empty() {
            self.here(RecordKind::Entry { digits: len, valid });
        }
        if entered.is_empty() {
            self.miss(Missed::Timeout, i.attempts, i.no_input_prompt.as_ref());
        } else if valid {
            self.set_var(&i.variable, &entered);
            self.took(Exit::Entered);
            self.go(i.next);
        } else {
            self.miss(Missed::Invalid, i.attempts, i.invalid_prompt.as_ref());
        }
    }

    fn callback_number(&mut self, event: Event) {
        let number = match event {
            Event::Digits(d) => {
                self.here(RecordKind::Keys { digits: d.clone() });
                let d = d.trim_end_matches('#').to_owned();
                if (7..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()) {
                    format!("+{d}")
                } else {
                    self.missed(Missed::Invalid, 1, false);
                    self.decided("not a phone number: using the caller's number");
                    self.s.caller.clone()
                }
            }
            Event::NoMatch => {
                self.missed(Missed::Invalid, 1, false);
                self.decided("not a phone number: using the caller's number");
                self.s.caller.clone()
            }
            _ => {
                self.missed(Missed::Timeout, 1, false);
                self.decided("no number entered: using the caller's number");
                self.s.caller.clone()
            }
        };
        self.callback_promised(number);
    }

    fn rating(&mut self, event: Event) {
        let p = self.p;
        let NodeKind::Survey {
            scale,
            thanks,
            next,
            ..
        } = &p.graph[self.s.at].kind
        else {
            return;
        };
        let value = match &event {
            Event::Digits(d) => {
                self.here(RecordKind::Keys { digits: d.clone() });
                d.parse::<u32>().ok()
            }
            Event::Speech { text, .. } => {
                self.here(RecordKind::Spoke { text: text.clone() });
                let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                digits.parse::<u32>().ok()
            }
            Event::NoMatch => None,
            _ => {
                self.missed(Missed::Timeout, 1, false);
                None
            }
        };
        match value.filter(|v| (1..=*scale).contains(v)) {
            Some(v) => {
                self.here(RecordKind::Rating {
                    value: v,
                    scale: *scale,
                });
                if let Some(t) = thanks {
                    self.say(t);
                }
            }
            None if event != Event::NoInput => self.missed(Missed::Invalid, 1, false),
            None => {}
        }
        self.continue_or_end(*next, Exit::Next);
    }

    fn queue_result(&mut self, result: QueueResult, waited: Option<u32>) {
        let p = self.p;
        let NodeKind::Queue(q) = &p.graph[self.s.at].kind else {
            return;
        };
        self.s.tally.left(result, waited, self.now);
        self.here(RecordKind::Result {
            result: format!("queue: {}", result.word()),
        });
        let group = self.s.tried.last().copied().unwrap_or(q.group);
        match result {
            QueueResult::Bridged => {
                self.s.outcome.get_or_insert(Outcome::Group(group));
                self.continue_or_end(q.next, Exit::AfterCall);
            }
            QueueResult::Timeout => {
                let overflow = p.groups.get(group.index()).and_then(|g| g.overflow);
                let open = |g: crate::program::GroupId| {
                    p.groups.get(g.index()).is_some_and(|g| {
                        self.closures.closing(&g.name, self.now).is_none()
                            && g.schedule
                                .and_then(|s| p.schedules.get(s.index()))
                                .is_none_or(|s| {
                                    s.status_at(self.now) == crate::routing::HoursStatus::Open
                                })
                    })
                };
                match overflow.filter(|o| !self.s.tried.contains(o) && open(*o)) {
                    Some(o) => {
                        self.advanced = true;
                        let name = p.groups[o.index()].name.clone();
                        self.decided(format!("no answer: overflow to {name}"));
                        self.s.tried.push(o);
                        self.emit_wait();
                    }
                    None => self.route(q.on_no_answer, "no agent answered", Some(Exit::NoAnswer)),
                }
            }
            QueueResult::Full => match q.on_full {
                Some(t) => self.route(Some(t), "queue full", Some(Exit::Full)),
                None => self.route(q.on_no_answer, "queue full", Some(Exit::NoAnswer)),
            },
            QueueResult::Hangup => self.end(Outcome::Abandoned),
            QueueResult::Error => self.fallback("the provider could not queue the call".into()),
        }
    }
}
