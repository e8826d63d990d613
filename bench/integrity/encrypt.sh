#!/usr/bin/env bash
# bench/integrity/encrypt.sh — warden vs the age CLI encrypting and decrypting the same model
# directory (or, without one, a generated 2 GiB file), same run, same recipient key.
#
# Usage: bench/integrity/encrypt.sh [DIR] [--repeat N] [--out-dir PATH]
#
#   DIR            model directory (default: $MODEL_DIR, as bench/integrity/run sets it; else a
#                  2 GiB pseudo-random file generated into bench/out/integrity/crypt-input/)
#   --repeat N     timed runs per command (3; the median is reported)
#   --out-dir PATH where ciphertext and plaintext go (default bench/out/integrity/crypt; give a
#                  tmpfs such as /dev/shm/warden-bench to take the disk out of the comparison)
#   WARDEN_BIN     warden binary (default: cargo build --release -p warden)
#
# The age CLI encrypts one file per invocation, so a directory is a loop of `age` calls (the
# same mirrored `<name>.age` layout warden writes). warden fsyncs every output before renaming
# it into place; to compare like with like, each age run ends with `sync` of its output
# filesystem inside the timed command. Peak RSS is GNU time's %M (for the age loop: the largest
# single age process). Results: bench/out/integrity/encrypt.md (and on stdout).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

input="${MODEL_DIR:-}" repeat=3 work="$root/bench/out/integrity/crypt"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --repeat) repeat="$2"; shift ;;
        --out-dir) work="$2"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "encrypt.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
        *) input="$1" ;;
    esac
    shift
done

say() { echo "bench/integrity/encrypt: $*" >&2; }
for tool in age age-keygen /usr/bin/time; do
    command -v "$tool" >/dev/null || { say "$tool is missing (Debian: apt-get install age time)"; exit 2; }
done

warden="${WARDEN_BIN:-}"
if [[ -z "$warden" ]]; then
    say "cargo build --release -p warden"
    cargo build --release -p warden >&2
    warden="$root/target/release/warden"
fi

if [[ -z "$input" || ! -d "$input" ]]; then
    input="$root/bench/out/integrity/crypt-input"
    if [[ ! -f "$input/weights.bin" || $(stat -c %s "$input/weights.bin") != 2147483648 ]]; then
        say "generating a 2 GiB file in $input"
        mkdir -p "$input"
        # Pseudo-random (AES-CTR keystream): incompressible, and much faster than /dev/urandom.
        # openssl dies of SIGPIPE when head has enough; with pipefail that status is not a failure.
        { openssl enc -aes-128-ctr -pass pass:warden-bench -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } | head -c 2147483648 >"$input/weights.bin"
    fi
fi
input="$(cd "$input" && pwd)"
mapfile -t files < <(cd "$input" && find . -type f | sed 's|^\./||' | sort)
bytes=$(cd "$input" && cat -- "${files[@]}" | wc -c)
say "input $input: ${#files[@]} files, $bytes bytes"

rm -rf "$work"
mkdir -p "$work"
age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/key.txt")

# Warm the page cache so every tool reads the input from memory.
cat -- "${files[@]/#/$input/}" >/dev/null

# One command, timed with GNU time; prints "seconds peak_kib".
timed() {
    local log="$work/time.log"
    /usr/bin/time -o "$log" -f '%e %M' "$@" >/dev/null 2>"$work/stderr.log" || { cat "$work/stderr.log" >&2; say "failed: $*"; exit 1; }
    cat "$log"
}

age_encrypt_tree() {
    local src="$1" dst="$2" f
    for f in "${files[@]}"; do
        mkdir -p "$dst/$(dirname "$f")"
        age -r "$recipient" -o "$dst/$f.age" "$src/$f"
    done
    sync -f "$dst"
}

age_decrypt_tree() {
    local src="$1" dst="$2" f
    for f in "${files[@]}"; do
        mkdir -p "$dst/$(dirname "$f")"
        age -d -i "$work/key.txt" -o "$dst/$f" "$src/$f.age"
    done
    sync -f "$dst"
}
export -f age_encrypt_tree age_decrypt_tree
export recipient work
export files_list="${files[*]}"

# median of N "seconds kib" lines: prints "seconds kib" of the median-time run.
median() { sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }

run_case() {
    local name="$1"; shift
    local i results=()
    for ((i = 0; i < repeat; i++)); do
        rm -rf "$work/out"
        sync
        results+=("$(timed "$@")")
    done
    printf '%s\n' "${results[@]}" | median | sed "s|^|$name |"
}

# The age loop needs the file list inside `bash -c`.
age_enc_cmd=(bash -c 'IFS=" " read -r -a files <<<"$files_list"; age_encrypt_tree "$0" "$1"' "$input" "$work/out")
age_dec_cmd=(bash -c 'IFS=" " read -r -a files <<<"$files_list"; age_decrypt_tree "$0" "$1"' "$work/age.age" "$work/out")

say "timing ($repeat runs each, median)"
{
    run_case warden-encrypt "$warden" encrypt -q -r "$recipient" -o "$work/out" "$input"
    rm -rf "$work/warden.age" && "$warden" encrypt -q -r "$recipient" -o "$work/warden.age" "$input"
    run_case age-encrypt "${age_enc_cmd[@]}"
    rm -rf "$work/age.age" && "${age_enc_cmd[@]:0:3}" "$input" "$work/age.age"
    run_case warden-decrypt "$warden" decrypt -q -i "$work/key.txt" -o "$work/out" "$work/age.age"
    run_case age-decrypt bash -c 'IFS=" " read -r -a files <<<"$files_list"; age_decrypt_tree "$0" "$1"' "$work/warden.age" "$work/out"
} >"$work/times.txt"

# Cross-check: what each tool encrypted, the other decrypts to the original bytes.
rm -rf "$work/check"
"$warden" decrypt -q -i "$work/key.txt" -o "$work/check" "$work/warden.age"
diff -r -q "$input" "$work/check" >/dev/null || { say "warden round trip differs from the input"; exit 1; }
rm -rf "$work/check"

report="$root/bench/out/integrity/encrypt.md"
awk -v bytes="$bytes" -v files="${#files[@]}" -v cores="$(nproc)" '
    { t[$1] = $2; m[$1] = $3 }
    END {
        printf "## Encryption: warden vs age CLI (%d files, %.2f GB, %d cores)\n\n", files, bytes / 1e9, cores
        printf "| step | tool | seconds | GB/s | peak RSS MiB |\n|---|---|---:|---:|---:|\n"
        split("encrypt decrypt", ops, " ")
        for (i = 1; i <= 2; i++) for (j = 1; j <= 2; j++) {
            tool = (j == 1 ? "warden" : "age"); key = tool "-" ops[i]
            printf "| %s | %s | %.2f | %.2f | %.1f |\n", ops[i], tool, t[key], bytes / 1e9 / t[key], m[key] / 1024
        }
        printf "\nRatio (age time / warden time): encrypt %.2fx, decrypt %.2fx\n", t["age-encrypt"] / t["warden-encrypt"], t["age-decrypt"] / t["warden-decrypt"]
    }' "$work/times.txt" | tee "$report"
rm -rf "$work/out" "$work/age.age" "$work/warden.age"
