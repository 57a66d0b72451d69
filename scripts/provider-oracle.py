#!/usr/bin/env python3
"""Expected signatures and documents for Plivo, Telnyx and SignalWire,
computed with the providers' official Python SDKs.

The Rust tests (`tests/it/providers.rs`) verify the signatures with our
verifiers and render the same actions with our renderers, comparing
documents as XML trees. Everything is committed, so `cargo test` needs no
Python. Regenerate after changing a case on both sides:

    python3 -m venv /tmp/sdk
    /tmp/sdk/bin/pip install plivo==4.63.0 telnyx==4.189.0 signalwire==2.1.1 pynacl==1.6.2
    /tmp/sdk/bin/python scripts/provider-oracle.py
"""
import base64
import json
import pathlib

from nacl.signing import SigningKey
from plivo import plivoxml as px
from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3, validate_v3_signature
from signalwire.request_validator import RequestValidator as SignalWireValidator
from signalwire.voice_response import VoiceResponse as CXml
from telnyx.lib.webhook_verification import verify_webhook_signature

ROOT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"
BASE = "https://ivr.example.com"
PLIVO_TOKEN = "MAXXXXXXXXXXXXXXXXXX_token_abc123"
PLIVO_MAIN_TOKEN = "MAYYYYYYYYYYYYYYYYYY_main_token"
SIGNALWIRE_KEY = "PSK_0123456789abcdef0123456789abcdef"
TELNYX_SEED = bytes(range(32))


def plivo_signatures():
    cases = [
        ("POST", "https://example.com/plivo/answer", "12345678901234567890",
         {"CallUUID": "b4d3a1c2-0000-4000-8000-000000000001", "From": "14155551234", "To": "14155550000",
          "CallStatus": "in-progress", "Direction": "inbound", "Event": "StartApp"}),
        ("POST", "https://example.com:8443/plivo/digits?step=menu&lang=en", "nonce-xyz-42",
         {"CallUUID": "b4d3a1c2-0000-4000-8000-000000000002", "Digits": "1", "From": "+14155551234"}),
        ("GET", "https://example.com/plivo/answer?z=1&a=2", "555", {"CallUUID": "u-3", "Digits": "9"}),
        ("POST", "https://example.com/plivo/hangup", "abc", {}),
        ("POST", BASE + "/plivo/step?call=u-5&s=3", "n5",
         {"CallUUID": "u-5", "Digits": "1#", "Speech": "café + crème", "InputType": "speech"}),
        ("POST", BASE + "/plivo/wait?call=u-6&group=support%20tier&s=2", "n6", {"CallUUID": "u-6"}),
    ]
    out = []
    for method, url, nonce, params in cases:
        if method == "GET":
            signed = construct_get_url(url, dict(params)).decode()
        else:
            signed = construct_post_url(url, dict(params)).decode()
        for token, header in [(PLIVO_TOKEN, "x-plivo-signature-v3"), (PLIVO_MAIN_TOKEN, "x-plivo-signature-ma-v3")]:
            sig = get_signature_v3(token, signed, nonce).decode()
            assert validate_v3_signature(method, url, nonce, token, sig, dict(params))
            out.append({"method": method, "url": url, "nonce": nonce, "params": list(params.items()),
                        "token": token, "header": header, "signed": signed, "signature": sig})
    return out


STEP = BASE + "/plivo/step?call=u123&s=4"
NO_INPUT = STEP + "&ev=noinput"
WAIT = BASE + "/plivo/wait?call=u123&group=billing&s=4"
MEDIA = BASE + "/recordings/en-US/greeting.wav"


def plivo_documents():
    def r():
        return px.ResponseElement()

    def menu():
        d = r()
        g = px.GetInputElement(action=STEP, method="POST", input_type="dtmf speech", execution_timeout=5,
                               language="en-US", redirect=True, hints="orders,billing")
        g.set_finish_on_key("")
        g.set_num_digits(1)
        g.add(px.SpeakElement("For orders, press 1 & <more>.", voice="Polly.Joanna", language="en-US"))
        d.add(g)
        d.add(px.RedirectElement(NO_INPUT, method="POST"))
        return d

    def input_digits():
        d = r()
        g = px.GetDigitsElement(action=STEP, method="POST", timeout=8, redirect=True, finish_on_key="#", num_digits=8)
        g.add(px.PlayElement(MEDIA))
        d.add(g)
        d.add(px.RedirectElement(NO_INPUT, method="POST"))
        return d

    def survey_without_prompt():
        d = r()
        d.add(px.GetDigitsElement(action=STEP, method="POST", timeout=5, redirect=True, finish_on_key="", num_digits=1))
        d.add(px.RedirectElement(NO_INPUT, method="POST"))
        return d

    def queue():
        d = r()
        d.add(px.SpeakElement("Connecting you to billing.", language="en-US"))
        d.add(px.RedirectElement(WAIT, method="POST"))
        return d

    def transfer():
        d = r()
        dial = px.DialElement(action=STEP, method="POST", timeout=30, redirect=True, caller_id="+18005550100")
        dial.add(px.NumberElement("+15557654321"))
        dial.add(px.UserElement("sip:desk@pbx.example.com"))
        d.add(dial)
        return d

    def voicemail():
        d = r()
        d.add(px.SpeakElement("Leave a message after the tone.", language="en-US"))
        d.add(px.RecordElement(action=STEP, method="POST", redirect=True, max_length=120, play_beep=True, finish_on_key="#"))
        d.add(px.RedirectElement(NO_INPUT, method="POST"))
        return d

    def goodbye():
        d = r()
        d.add(px.SpeakElement("感谢您致电Acme。再见。", voice="Polly.Zhiyu", language="zh-CN"))
        d.add(px.WaitElement(length=1))
        d.add(px.HangupElement())
        return d

    def wait_then_leave():
        d = r()
        d.add(px.SpeakElement("You are number 3 in line.", language="en-US"))
        d.add(px.PlayElement(BASE + "/recordings/hold.wav"))
        d.add(px.RedirectElement(STEP + "&ev=leave", method="POST"))
        return d

    def redirect():
        d = r()
        d.add(px.WaitElement(length=2))
        d.add(px.RedirectElement(STEP, method="POST"))
        return d

    def hold():
        d = r()
        d.add(px.SpeakElement("You are number 3 in line.", language="en-US"))
        d.add(px.PlayElement(BASE + "/recordings/hold.wav"))
        d.add(px.RedirectElement(WAIT, method="POST"))
        return d

    def conference():
        # A caller an agent took from our own queue joins their room.
        d = r()
        d.add(px.ConferenceElement("general-u123", start_conference_on_enter=False, end_conference_on_exit=True,
                                   action=STEP + "&ev=bridged", method="POST"))
        return d

    def agent_waits():
        d = r()
        d.add(px.PlayElement(BASE + "/recordings/hold.wav"))
        d.add(px.RedirectElement(BASE + "/plivo/agent?group=general", method="POST"))
        return d

    return [menu, input_digits, survey_without_prompt, queue, transfer, voicemail, goodbye, wait_then_leave,
            redirect, hold, conference, agent_waits]


def telnyx_signatures():
    key = SigningKey(TELNYX_SEED)
    public = base64.b64encode(bytes(key.verify_key)).decode()
    bodies = [
        ("1700000000", "AccountSid=f5586561-8ff0-4291-a51b-c7dfe4139ff9&CallSid=v3%3Aabc&CallStatus=ringing"
                       "&Direction=inbound&From=%2B35319605860&To=%2B13129457420"),
        ("1700000100", "AccountSid=f5586561-8ff0-4291-a51b-c7dfe4139ff9&CallSid=v3%3Aabc&Digits=1"),
        ("1700000200", ""),
    ]
    out = []
    for ts, body in bodies:
        sig = base64.b64encode(key.sign(f"{ts}|{body}".encode()).signature).decode()
        # The SDK's own check, at the moment it was sent.
        import time
        real = time.time
        time.time = lambda: int(ts)
        try:
            verify_webhook_signature(body, {"telnyx-signature-ed25519": sig, "telnyx-timestamp": ts}, public)
        finally:
            time.time = real
        out.append({"timestamp": ts, "body": body, "signature": sig})
    return {"public_key": public, "vectors": out}


def signalwire_signatures():
    v = SignalWireValidator(SIGNALWIRE_KEY)
    out = []
    form = [
        (BASE + "/signalwire/voice", {"CallSid": "5b0a3d2c-1111-4aaa-9bbb-000000000001",
                                      "AccountSid": "a1b2c3d4-0000-4000-8000-000000000000",
                                      "From": "+15550001111", "To": "+18005550100", "CallStatus": "ringing"}),
        (BASE + "/signalwire/step?call=5b0a&s=2", {"CallSid": "5b0a", "Digits": "1"}),
    ]
    for url, params in form:
        sig = v.build_signature_with_compatibility(url, params)
        assert v.validate(url, params, sig)
        out.append({"kind": "form", "url": url, "params": list(params.items()), "signature": sig})
    body = json.dumps({"CallSid": "5b0a", "To": "+18005550100", "From": "+15550001111", "CallStatus": "ringing"})
    url = BASE + "/signalwire/voice"
    sig = v.build_signature(url, body)
    assert v.validate(url, body, sig)
    out.append({"kind": "json", "url": url, "body": body, "signature": sig})
    return {"key": SIGNALWIRE_KEY, "vectors": out}


def cxml_documents():
    step = BASE + "/signalwire/step?call=CA123&s=4"

    def menu():
        r = CXml()
        g = r.gather(input="dtmf speech", action=step, method="POST", timeout=5, finish_on_key="",
                     num_digits=1, speech_timeout="auto", language="en-US", hints="orders, billing")
        g.say("For orders, press 1 & <more>.", voice="Polly.Joanna", language="en-US")
        r.redirect(step + "&ev=noinput", method="POST")
        return r

    def queue():
        r = CXml()
        r.say("Connecting you to billing.", language="en-US")
        r.enqueue("billing", action=step, method="POST",
                  wait_url=BASE + "/signalwire/wait?call=CA123&group=billing", wait_url_method="POST")
        return r

    def transfer():
        r = CXml()
        d = r.dial(action=step, method="POST", timeout=30, caller_id="+18005550100")
        d.number("+15557654321")
        d.sip("sip:desk@pbx.example.com")
        return r

    return [menu, queue, transfer]


if __name__ == "__main__":
    (ROOT / "providers").mkdir(parents=True, exist_ok=True)
    (ROOT / "plivo").mkdir(parents=True, exist_ok=True)
    (ROOT / "cxml").mkdir(parents=True, exist_ok=True)
    (ROOT / "providers" / "plivo_signatures.json").write_text(json.dumps(plivo_signatures(), indent=1, ensure_ascii=False) + "\n")
    (ROOT / "providers" / "telnyx_signatures.json").write_text(json.dumps(telnyx_signatures(), indent=1) + "\n")
    (ROOT / "providers" / "signalwire_signatures.json").write_text(json.dumps(signalwire_signatures(), indent=1) + "\n")
    for case in plivo_documents():
        (ROOT / "plivo" / f"{case.__name__}.xml").write_text(case().to_string(False) + "\n", encoding="utf-8")
    for case in cxml_documents():
        (ROOT / "cxml" / f"{case.__name__}.xml").write_text(str(case()) + "\n", encoding="utf-8")
    print("wrote tests/data/providers, tests/data/plivo, tests/data/cxml")
