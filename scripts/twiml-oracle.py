#!/usr/bin/env python3
"""Expected TwiML documents, built with Twilio's official Python SDK.

The Rust test `tests/it/twiml.rs` renders the same verbs with Switchboard's
renderer and compares both as XML trees (attribute order does not matter).
The documents are committed, so `cargo test` needs no Python. Regenerate
after changing a case on both sides:

    pip install twilio==9.13.0 && python3 scripts/twiml-oracle.py
"""
import pathlib

from twilio.twiml.voice_response import VoiceResponse

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "twiml"
STEP = "https://ivr.example.com/twilio/step?call=CA123&s=4"
NO_INPUT = STEP + "&ev=noinput"
WAIT = "https://ivr.example.com/twilio/wait?call=CA123&group=billing"
MEDIA = "https://ivr.example.com/recordings/en-US/greeting.wav"


def menu():
    r = VoiceResponse()
    g = r.gather(input="dtmf speech", action=STEP, method="POST", timeout=5, finish_on_key="",
                 num_digits=1, speech_timeout="auto", language="en-US", hints="orders, billing")
    g.say("For orders, press 1 & <more>.", voice="Polly.Joanna", language="en-US")
    r.redirect(NO_INPUT, method="POST")
    return r


def input_digits():
    r = VoiceResponse()
    g = r.gather(input="dtmf", action=STEP, method="POST", timeout=8, finish_on_key="#", num_digits=8)
    g.play(MEDIA)
    r.redirect(NO_INPUT, method="POST")
    return r


def survey_without_prompt():
    r = VoiceResponse()
    r.gather(input="dtmf", action=STEP, method="POST", timeout=5, finish_on_key="", num_digits=1)
    r.redirect(NO_INPUT, method="POST")
    return r


def queue():
    r = VoiceResponse()
    r.say("Connecting you to billing.", language="en-US")
    r.enqueue("billing", action=STEP, method="POST", wait_url=WAIT, wait_url_method="POST")
    return r


def transfer():
    r = VoiceResponse()
    d = r.dial(action=STEP, method="POST", timeout=30, caller_id="+18005550100")
    d.number("+15557654321")
    d.sip("sip:desk@pbx.example.com")
    return r


def voicemail():
    r = VoiceResponse()
    r.say("Leave a message after the tone.", language="en-US")
    r.record(action=STEP, method="POST", max_length=120, play_beep=True, finish_on_key="#")
    r.redirect(NO_INPUT, method="POST")
    return r


def goodbye():
    r = VoiceResponse()
    r.say("感谢您致电Acme。再见。", voice="Polly.Zhiyu", language="zh-CN")
    r.pause(length=1)
    r.hangup()
    return r


def wait_then_leave():
    r = VoiceResponse()
    r.say("You are number 3 in line.", language="en-US")
    r.play("https://ivr.example.com/recordings/hold.wav")
    r.leave()
    return r


def redirect():
    r = VoiceResponse()
    r.pause(length=2)
    r.redirect(STEP, method="POST")
    return r


CASES = [menu, input_digits, survey_without_prompt, queue, transfer, voicemail, goodbye, wait_then_leave, redirect]

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        (OUT / f"{case.__name__}.xml").write_text(str(case()) + "\n", encoding="utf-8")
        print(f"wrote {case.__name__}.xml")
