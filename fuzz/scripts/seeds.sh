#!/usr/bin/env bash
# Build the seed inputs of every target into fuzz/corpus-raw/<target>/
# (git-ignored) from the shipped flows, the test fixtures and a few
# hand-written Twilio requests. Run from anywhere; see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=fuzz/corpus-raw
mkdir -p "$out"/{flow_file,flow_dir,scenario,twilio_signature,twilio_callback}

# flow_file: every flow file the repository ships or tests with.
for f in flows/*.toml $(find tests/fixtures -name '*.toml' -not -path '*/tests/*' -not -path '*/scenarios/*' | sort); do
  cp "$f" "$out/flow_file/$(echo "$f" | tr '/' '_')"
done

# flow_dir: each directory of flow files as one input: per file its stem on
# a line, then its text, files separated by NUL bytes.
dir_seed() {
  local dir=$1 first=1
  for f in "$dir"/*.toml; do
    [ -f "$f" ] || continue
    [ $first = 1 ] || printf '\0'
    first=0
    basename "$f" .toml
    cat "$f"
  done
}
for d in flows $(find tests/fixtures -type d -not -path '*/tests' -not -path '*/scenarios*' | sort); do
  ls "$d"/*.toml >/dev/null 2>&1 || continue
  dir_seed "$d" > "$out/flow_dir/$(echo "$d" | tr '/' '_')"
done

# scenario: every scenario file.
for f in flows/tests/*.toml $(find tests/fixtures \( -path '*/tests/*.toml' -o -path '*/scenarios/*.toml' \) | sort); do
  cp "$f" "$out/scenario/$(echo "$f" | tr '/' '_')"
done

# twilio_signature: settings header, signature, token, URL, body (lines).
# The vectors of src/provider/twilio/signature.rs's tests.
sig() { printf '%s\n%s\n%s\n%s\n%s' "$2" "$3" "$4" "$5" "$6" > "$out/twilio_signature/$1"; }
sig t1 '' '0/KCTR6DLpKmkAf8muzZqo1nDgQ=' 12345 'https://mycompany.com/myapp.php?foo=1&bar=2' \
  'CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212'
sig t1-sha256 'key=K1,algorithm=HMAC_SHA256' 'Rmm4Vzj+Ky7JGoWXMCsZDZuHDszLr9xvdbvitrDr4/M=' 12345 \
  'https://mycompany.com/myapp.php?foo=1&bar=2' \
  'CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212'
sig t2 '' 'i1e5Gmhl/HjGeyCb645TQUNuis8=' 12345 'https://example.com:8443/ivr/voice' \
  'CallSid=CA00000000000000000000000000000001&AccountSid=AC00000000000000000000000000000001&From=%2B15005550006&To=%2B15005550001&CallStatus=ringing&Direction=inbound&ApiVersion=2010-04-01'
sig t3 '' 'mXfR1ti9vgPKQKOZILB3b68XA7Y=' 12345 'https://example.com/ivr/gather?step=menu' \
  'CallSid=CA00000000000000000000000000000002&Digits=1%23&SpeechResult=caf%C3%A9+%2B+cr%C3%A8me&Confidence=0.92&From=%2B441234567890'
sig t4 '' 'ik1PMefkNsk8Xd86jq8FUkAcgXg=' 12345 'http://127.0.0.1:8080/voice' ''
sig t5 '' 'jPgFZWWm2p9hlMKpEc8jDy6mcnU=' 12345 'https://example.com:443/voice' 'A=1'
sig t5-ipv6 '' 'jPgFZWWm2p9hlMKpEc8jDy6mcnU=' 12345 'http://user@[::1]:8080/v?x=1#f' 'A=1'
sig t6 '' 'RYhOPVcIwJ8s+k9OWuDXvrmQaSg=' 12345 'https://example.com/x' 'A=x&To=%2B2&To=%2B1'
sig t7-json '' 'Klp85180pYIxzIO5cuyxpfh1BKw=' 12345 \
  'https://example.com/myapp?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620' \
  '{"property": "value", "boolean": true}'
sig missing '' '' 12345 'https://example.com/x' 'A=1'

# twilio_callback: query string, then the form body.
cb() { printf '%s\n%s' "$2" "$3" > "$out/twilio_callback/$1"; }
cb voice '' 'CallSid=CA1&AccountSid=AC1&From=%2B15555550123&To=%2B15555550100&CallStatus=ringing&Direction=inbound'
cb voice-anonymous '' 'CallSid=CA1&From=anonymous&To=%2B15555550101'
cb digits 'call=CA1&s=1' 'CallSid=CA1&Digits=1&To=%2B15555550100'
cb digits-hash 'call=CA1&s=1' 'CallSid=CA1&Digits=12345678%23&To=%2B15555550100'
cb noinput 'call=CA1&s=1&ev=noinput' 'CallSid=CA1&To=%2B15555550100'
cb empty-digits 'call=CA1&s=1' 'CallSid=CA1&Digits='
cb speech 'call=CA1&s=1' 'CallSid=CA1&SpeechResult=billing+please&Confidence=0.87&To=%2B15555550100'
cb speech-zh 'call=CA1&s=1' 'CallSid=CA1&SpeechResult=%E8%B4%A6%E5%8D%95&Confidence=0.5'
cb dial 'call=CA1&s=2' 'CallSid=CA1&DialCallStatus=no-answer&DialCallDuration=0'
cb queue 'call=CA1&s=3' 'CallSid=CA1&QueueResult=bridged&QueueTime=42'
cb queue-leave 'call=CA1&s=3' 'CallSid=CA1&QueueResult=leave'
cb record 'call=CA1&s=4' 'CallSid=CA1&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2Frec%2FRE1&RecordingDuration=12'
cb wrong-call 'call=CA2&s=1' 'CallSid=CA1&Digits=1'
cb bad-step 'call=CA1&s=-1' 'CallSid=CA1&Digits=1'
cb status 'call=CA1' 'CallSid=CA1&CallStatus=completed&CallDuration=61'
cb status-busy '' 'CallSid=CA1&CallStatus=busy'
cb wait 'call=CA1&group=billing' 'CallSid=CA1&QueuePosition=3&QueueTime=75&AvgQueueTime=120'
