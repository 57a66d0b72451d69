#!/usr/bin/env bash
# Renders the demo's prompt audio into recordings/ as telephone-quality WAV
# (8 kHz, mono, 16-bit PCM), which every provider plays. Speech comes from
# espeak-ng, hold music from sox's synthesizer. The results are committed, so
# nothing here runs in CI; re-run it after changing a recorded prompt:
#   apt-get install espeak-ng sox && bash scripts/render-recordings.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # say VOICE OUT.wav TEXT
  espeak-ng -v "$1" -s 150 -w "$tmp/raw.wav" "$3"
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$2" norm -3
}

mkdir -p recordings/en-US recordings/zh-CN
say en-us recordings/en-US/greeting.wav "Thank you for calling Acme."
say cmn recordings/zh-CN/greeting.wav "感谢您致电Acme。"

# The language menu speaks both languages, so one shared file serves every caller.
say en-us "$tmp/en.wav" "For English, press 1."
say cmn "$tmp/zh.wav" "中文服务请按2。"
sox "$tmp/en.wav" "$tmp/zh.wav" recordings/language_menu.wav

# Twelve seconds of soft chords for the queue's hold music (it loops).
chord() { sox -n -r 8000 -c 1 -b 16 "$tmp/$1.wav" synth 3 sine "$2" sine "$3" sine "$4" fade q 0.4 3 0.8 vol 0.25; }
chord a 261.63 329.63 392.00
chord b 220.00 261.63 329.63
chord c 174.61 220.00 261.63
chord d 196.00 246.94 293.66
sox "$tmp/a.wav" "$tmp/b.wav" "$tmp/c.wav" "$tmp/d.wav" recordings/hold.wav norm -6
ls -l recordings recordings/*/
