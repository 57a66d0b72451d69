//! A generated flow set of realistic shape and any size, for the "10,000
//! nodes compile" test and the `compile` benchmark.
//!
//! Each flow is a balanced tree of menus (two levels of fan-out per menu, so
//! depth stays near log2 of the size), every menu with a self-service answer,
//! an account-number input and a queue, as a large call centre's tree is.

/// `(file name, text)` pairs: `flows` flow files of `blocks` five-node blocks
/// each, plus a settings file with groups and schedules.
pub(crate) fn flow_set(flows: usize, blocks: usize) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut groups = String::from(
        "[settings]\ndefault_flow = \"f0\"\nmax_key_presses = 20\n\n[schedules.hours]\ntimezone = \"America/Chicago\"\nweekly = { \"mon-fri\" = \"08:00-18:00\", sat = \"09:00-12:00\" }\nholidays = [{ date = \"12-25\" }]\n\n",
    );
    for g in 0..10 {
        let kind = if g % 2 == 0 { "service" } else { "support" };
        groups.push_str(&format!(
            "[groups.g{g}]\nkind = \"{kind}\"\nschedule = \"hours\"\nmax_wait = \"5m\"\n\n"
        ));
    }
    groups.push_str("[numbers]\n");
    for f in 0..flows {
        groups.push_str(&format!("\"+1800555{f:04}\" = \"f{f}\"\n"));
    }
    files.push(("settings".to_owned(), groups));

    for f in 0..flows {
        let mut s = String::from("[flow]\nstart = \"m0\"\noperator = \"q0\"\n\n");
        for k in 0..blocks {
            let (left, right) = (2 * k + 1, 2 * k + 2);
            let mut options = vec![format!("1 = \"s{k}\""), format!("2 = \"i{k}\"")];
            let mut prompt = String::from("For answers, press 1. To enter your account, press 2.");
            if left < blocks {
                options.push(format!(
                    "3 = {{ goto = \"m{left}\", speech = [\"more{k}\"] }}"
                ));
                prompt.push_str(" For more, press 3.");
            } else if f + 1 < flows && k == blocks - 1 {
                options.push(format!("3 = \"f{}.m0\"", f + 1));
                prompt.push_str(" For the next department, press 3.");
            }
            if right < blocks {
                options.push(format!("4 = \"m{right}\""));
                prompt.push_str(" For other topics, press 4.");
            }
            let g = (f + k) % 10;
            s.push_str(&format!(
                "[menu.m{k}]\nprompt = \"{prompt}\"\noptions = {{ {} }}\non_failure = \"q{k}\"\n\n\
                 [say.s{k}]\nprompt = \"Here is the answer to topic {k}.\"\nnext = \"q{k}\"\n\n\
                 [input.i{k}]\nprompt = \"Enter your account number, then press pound.\"\nvariable = \"account\"\nmax_digits = 8\nnext = \"q{k}\"\non_failure = \"h{k}\"\n\n\
                 [queue.q{k}]\ngroup = \"g{g}\"\non_closed = \"h{k}\"\non_no_answer = \"h{k}\"\n\n\
                 [hangup.h{k}]\nprompt = \"Thank you for calling. Goodbye.\"\n\n",
                options.join(", ")
            ));
        }
        files.push((format!("f{f}"), s));
    }
    files
}
