#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of lstmidi-studio: its HTTP safety, the byte-for-byte parity of its MIDI files with
lstmidi-generate's, a load test on loopback, and the page itself in a real browser.

    studio_tests.py CASE --studio BIN --train BIN --generate BIN --data DIR --work DIR

CASE is one of the functions named case_* below (without the prefix). Each case trains a tiny
model in seconds, starts a studio on a free loopback port, and exits 0 on success, 1 with a
message on failure, or 77 when it cannot run here (no studio built, no Chromium, no Selenium,
no mido): CTest reports that as skipped, never as passed.

The browser case drives Debian's chromium through chromium-driver with python3-selenium
(`scripts/install-deps.sh --with-browser` installs them, as scripts/test.sh does) and saves a screenshot, studio.png, in its work folder.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from cases import TINY, Failure, Skip, check, fresh_dir, main_for, run  # noqa: E402

ARGS = None


def workdir(name):
    return fresh_dir(ARGS.work, name)


def copy_data(dest, n=6):
    os.makedirs(dest, exist_ok=True)
    files = sorted(f for f in os.listdir(ARGS.data) if f.endswith(".mid"))[:n]
    for f in files:
        shutil.copy(os.path.join(ARGS.data, f), dest)
    return dest


def train(base, name="model", extra=(), n=6, drop=()):
    data = copy_data(os.path.join(base, "data"), n)
    out = os.path.join(base, name)
    args = [a for a in TINY]
    for flag in list(extra[::2]) + list(drop):
        if flag in args:
            i = args.index(flag)
            del args[i:i + 2]
    p = run([ARGS.train, "--data", data, "--out", out, *args, *extra], timeout=300)
    check(p.returncode == 0, f"training the test model: {p.stdout}\n{p.stderr}")
    return data, out


class Studio:
    """A running lstmidi-studio on a free loopback port."""

    def __init__(self, model, extra=()):
        self.proc = subprocess.Popen([ARGS.studio, "--model", model, "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.proc.kill()
            raise Failure(f"the studio did not say where it serves: {line!r} "
                          f"{self.proc.stderr.read()}")
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        if self.proc.poll() is not None:
            raise Failure(f"the studio exited ({self.proc.returncode}): {self.proc.stderr.read()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("the studio did not stop within 20 s of SIGTERM")
        check(self.proc.returncode == 0, f"the studio stopped with {self.proc.returncode}: {err}")
        check("stopped" in out, f"the studio did not say it stopped: {out} {err}")
        for marker in ("terminate called", "Sanitizer", "runtime error:", "Segmentation"):
            check(marker not in err, f"the studio printed '{marker}': {err}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.stop()
        elif self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def http(url, data=None, headers=None, method=None, timeout=30):
    """(status, headers, body bytes); HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def multipart(fields, files=()):
    """(body, content type) of a multipart/form-data request."""
    boundary = "lstmidi-test-boundary-7d1f"
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                     .encode() + str(v).encode() + b"\r\n")
    for name, filename, content in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: audio/midi\r\n\r\n'.encode()
                     + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post_generate(studio, fields, files=(), timeout=30):
    body, ctype = multipart(fields, files)
    status, _, out = http(studio.url + "/api/generate", body, {"Content-Type": ctype}, timeout=timeout)
    try:
        answer = json.loads(out)
    except ValueError:
        raise Failure(f"generate answered {status} with no JSON: {out[:300]!r}")
    return status, answer


def wait_job(studio, job, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, _, body = http(f"{studio.url}/api/jobs/{job}")
        check(status == 200, f"job {job}: status {status}: {body[:300]!r}")
        j = json.loads(body)
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.05)
    raise Failure(f"job {job} did not finish within {timeout} s")


def generate_in_studio(studio, fields, files=()):
    """The MIDI bytes of every variation of one request."""
    status, answer = post_generate(studio, fields, files)
    check(status == 202, f"generate {fields}: {status} {answer}")
    j = wait_job(studio, answer["job"])
    check(j["state"] == "done", f"generate {fields} failed: {j.get('error')}")
    out = []
    for k in range(len(j["variations"])):
        status, headers, body = http(f"{studio.url}/api/jobs/{answer['job']}/midi/{k}")
        check(status == 200 and headers.get("Content-Type") == "audio/midi",
              f"MIDI download: {status} {headers}")
        out.append(body)
    return j, out


def raw_request(port, text, timeout=10):
    """Sends `text` as is (no URL normalisation) and returns the status line and the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(text if isinstance(text, bytes) else text.encode("latin-1"))
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head, _, rest = data.partition(b"\r\n\r\n")
                    m = re.search(rb"Content-Length: (\d+)", head, re.I)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except (socket.timeout, ConnectionResetError):
            pass
    return data.split(b"\r\n", 1)[0].decode("latin-1"), data


def status_of(line):
    m = re.match(r"HTTP/1\.[01] (\d{3})", line)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------
def case_safety():
    """Paths, headers, slow clients, malformed bodies, bad settings and uploads."""
    base = workdir("safety")
    data, model = train(base)
    with Studio(model) as st:
        # Served on loopback only: the listening socket's address in /proc/net/tcp.
        with open("/proc/net/tcp") as f:
            listening = [l.split() for l in f.readlines()[1:]]
        ours = [l for l in listening if l[1].endswith(f":{st.port:04X}") and l[3] == "0A"]
        check(ours and all(l[1].startswith("0100007F") for l in ours),
              f"the studio should listen on 127.0.0.1 only: {ours}")

        # No request reaches a file: traversal in every spelling is "no such page".
        for path in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                     "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/..%2f..%2f..%2fetc/passwd",
                     "/studio.js/../../../etc/passwd", "/api/runs/../../../etc/passwd",
                     "/api/jobs/1/midi/..%2f..%2fetc%2fpasswd", "//etc/passwd",
                     "/%252e%252e/etc/passwd", "/..\\..\\etc\\passwd", "/.%00./etc/passwd"]:
            line, body = raw_request(st.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{st.port}\r\n"
                                              "Connection: close\r\n\r\n")
            check(status_of(line) in (400, 403, 404), f"GET {path}: {line}")
            check(b"root:" not in body, f"GET {path} returned a system file")
        status, _, body = http(st.url + "/api/model?file=/etc/passwd&model=/etc")
        check(status == 200 and b"root:" not in body, "query parameters must not name files")

        # A page elsewhere cannot reach the studio through another host name.
        line, _ = raw_request(st.port, "GET / HTTP/1.1\r\nHost: attacker.example\r\n"
                                       "Connection: close\r\n\r\n")
        check(status_of(line) == 403, f"a foreign Host header: {line}")

        # Oversized headers and request lines are refused, and the studio goes on.
        line, _ = raw_request(st.port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{st.port}\r\nX-Big: "
                                       + "a" * 20000 + "\r\nConnection: close\r\n\r\n")
        check(status_of(line) is None or 400 <= status_of(line) < 500, f"a 20 KB header: {line}")
        line, _ = raw_request(st.port, "GET /" + "a" * 20000 + f" HTTP/1.1\r\nHost: 127.0.0.1:{st.port}"
                                       "\r\nConnection: close\r\n\r\n")
        check(status_of(line) is None or 400 <= status_of(line) < 500, f"a 20 KB request line: {line}")
        many = "".join(f"X-H{i}: v\r\n" for i in range(300))
        line, _ = raw_request(st.port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{st.port}\r\n{many}"
                                       "Connection: close\r\n\r\n")
        check(status_of(line) in (None, 200) or 400 <= status_of(line) < 500, f"300 headers: {line}")
        st.alive()

        # Slow clients: half a request, then silence. Others are served meanwhile, and the
        # server closes the silent connections after its read timeout.
        slow = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", st.port))
            s.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len")
            slow.append(s)
        t0 = time.time()
        for _ in range(5):
            status, _, _ = http(st.url + "/api/model", timeout=10)
            check(status == 200, f"a request next to slow clients: {status}")
        check(time.time() - t0 < 5, f"slow clients held others up for {time.time() - t0:.1f} s")
        for s in slow:
            s.settimeout(20)
            t0 = time.time()
            try:
                s.recv(1000)  # the server's answer (400) or the end of the connection
            except ConnectionResetError:
                pass
            except socket.timeout:
                raise Failure("a silent client was never dropped")
            check(time.time() - t0 < 15, "a silent client kept its connection over 15 s")
            s.close()
        # A body that stops short of its Content-Length.
        s = socket.create_connection(("127.0.0.1", st.port))
        s.sendall(f"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:{st.port}\r\nContent-Type: "
                  "application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nlength=5".encode())
        s.settimeout(20)
        try:
            s.recv(1000)
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
        st.alive()

        # Malformed multipart bodies: 400, never a crash. Parts without a name are ignored (the
        # request then has default settings).
        good_body, _ = multipart({"length": "10"})
        for body in [b"--XYZ\r\n\r\n\r\n--XYZ--\r\n",
                     b"--XYZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XYZ--\r\n"]:
            status, _, out = http(st.url + "/api/generate", body,
                                  {"Content-Type": "multipart/form-data; boundary=XYZ"})
            check(status == 202 or 400 <= status < 500, f"a nameless part {body!r}: {status} {out[:200]!r}")
        for ctype, body in [
                ("multipart/form-data; boundary=XYZ", b"--XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb"),
                ("multipart/form-data; boundary=XYZ", b"no boundary at all"),
                ("multipart/form-data", good_body),
                ("multipart/form-data; boundary=" + "B" * 5000, good_body),
                ("multipart/form-data; boundary=XYZ", b"--XYZ\r\n" + b"X: y\r\n" * 5000 + b"\r\n")]:
            status, _, out = http(st.url + "/api/generate", body, {"Content-Type": ctype})
            check(400 <= status < 500, f"malformed multipart ({ctype[:40]}, {body[:30]!r}): {status} {out[:200]!r}")
        st.alive()

        # Bad settings: 400 and a message the page shows.
        for fields, word in [({"length": "0"}, "length"), ({"length": "abc"}, "length"),
                             ({"length": "4001"}, "length"), ({"temperature": "nan"}, "temperature"),
                             ({"temperature": "1e999"}, "temperature"), ({"seed": "-1"}, "seed"),
                             ({"seed": "18446744073709551616"}, "seed"), ({"top_p": "0"}, "top_p"),
                             ({"variations": "9"}, "variations"), ({"primer": "saved:999"}, "saved primer"),
                             ({"primer": "/etc/passwd"}, "primer"), ({"primer": "notes"}, "primer_notes"),
                             ({"primer": "notes", "primer_notes": "xyzzy"}, "primer-notes"),
                             ({"instruments": "99"}, "instruments"), ({"weights": "bogus"}, "weights"),
                             ({"reattack": "1"}, "reattack"), ({"program": "3"}, "program"),
                             ({"voices": "yes"}, "voices"), ({"end_at_bar": "2"}, "end_at_bar"),
                             ({"length_temperature": "0"}, "length_temperature"),
                             ({"length_temperature": "warm"}, "length_temperature"),
                             ({"time_signature": "5/3"}, "time_signature"), ({"primer": "midi"}, "primer_midi"),
                             ({"seed": "18446744073709551615", "variations": "2"}, "seed")]:
            status, answer = post_generate(st, fields)
            check(status == 400, f"{fields}: expected 400, got {status} {answer}")
            msg = answer.get("error", "")
            check(word.lower() in msg.lower(), f"{fields}: the message should mention {word}: {msg}")
            check(not re.search(r"[A-Za-z_]\w*::[A-Za-z_]", msg), f"{fields}: an internal name: {msg}")

        # Uploads: capped, and read by the guarded reader.
        status, _, _ = http(st.url + "/api/generate", *reversed_pair(multipart(
            {"primer": "midi"}, [("primer_midi", "big.mid", b"MThd" + b"\0" * (5 << 20))])))
        check(status == 413, f"a 5 MiB upload: expected 413, got {status}")
        status, answer = post_generate(st, {"primer": "midi"},
                                       [("primer_midi", "big.mid", b"MThd" + b"\0" * ((4 << 20) + 100))])
        check(status == 400 and "limit" in answer.get("error", ""), f"an upload over 4 MiB: {status} {answer}")
        for content in [b"MThd\0\0\0\6\0\1\0\1\1\xe0MTrk\xff\xff\xff\xff", b"not a midi file", b"MThd"]:
            status, answer = post_generate(st, {"primer": "midi"}, [("primer_midi", "../../x.mid", content)])
            check(status == 400 and "uploaded" in answer.get("error", ""),
                  f"a broken upload {content[:20]!r}: {status} {answer}")
        real = os.path.join(data, sorted(os.listdir(data))[0])
        with open(real, "rb") as f:
            j, files = generate_in_studio(st, {"primer": "midi", "length": "40"},
                                          [("primer_midi", "chorale.mid", f.read())])
        check(len(files) == 1 and files[0].startswith(b"MThd"), "a real upload gives a MIDI file")

        # Unknown routes and jobs.
        for method, path, want in [("GET", "/api/jobs/999999", 404), ("GET", "/api/jobs/" + "9" * 40, 404),
                                   ("GET", "/api/jobs/1/midi/7", 404), ("GET", "/api/runs/0", 404),
                                   ("DELETE", "/api/model", 404), ("GET", "/nothing", 404)]:
            status, _, _ = http(st.url + path, method=method)
            check(status == want, f"{method} {path}: expected {want}, got {status}")
        status, headers, _ = http(st.url + "/")
        check(status == 200 and "Content-Security-Policy" in headers, f"the page: {status} {headers}")
        st.alive()


def reversed_pair(pair):
    body, ctype = pair
    return body, {"Content-Type": ctype}


def case_parity():
    """The studio's files are lstmidi-generate's, byte for byte, for the same settings."""
    base = workdir("parity")
    data, model = train(base)
    _, roll = train(base, "roll", ["--mode", "pianoroll", "--hidden", "8", "--seq-len", "8",
                                   "--epochs", "1"], drop=["--embedding", "--min-count"])
    primer_file = os.path.join(data, sorted(os.listdir(data))[1])
    with open(primer_file, "rb") as f:
        primer_bytes = f.read()
    cases = [
        (model, {"length": "120", "seed": "5", "variations": "2"},
         ["--length", "120", "--seed", "5", "--num-outputs", "2"], None),
        (model, {"length": "90", "seed": "8", "primer": "saved:2", "temperature": "0.8", "top_k": "12"},
         ["--length", "90", "--seed", "8", "--saved-primer", "2", "--temperature", "0.8", "--top-k", "12"], None),
        (model, {"length": "60", "seed": "3", "primer": "notes", "primer_notes": "bar pos:0 prog:0 vel:20 C4 len:4 E4 len:4",
                 "weights": "float32", "top_p": "0.9", "tempo": "72"},
         ["--length", "60", "--seed", "3", "--primer-notes", "bar pos:0 prog:0 vel:20 C4 len:4 E4 len:4",
          "--weights", "float32", "--top-p", "0.9", "--tempo", "72"], None),
        (model, {"length": "70", "seed": "11", "primer": "midi", "instruments": "0/1", "primer_length": "20",
                 "time_signature": "3/4"},
         ["--length", "70", "--seed", "11", "--primer", primer_file, "--instruments", "0/1",
          "--primer-length", "20", "--time-signature", "3/4"], primer_bytes),
        (roll, {"length": "30", "seed": "4", "reattack": "1", "program": "19"},
         ["--length", "30", "--seed", "4", "--reattack", "--program", "19"], None),
        (model, {"length": "80", "seed": "6", "temperature": "0.7", "voices": "1", "end_at_bar": "1",
                 "length_temperature": "1.2"},
         ["--length", "80", "--seed", "6", "--temperature", "0.7", "--voices", "--end-at-bar",
          "--length-temperature", "1.2"], None),
    ]
    for i, (m, fields, flags, upload) in enumerate(cases):
        with Studio(m) as st:
            files = [("primer_midi", "primer.mid", upload)] if upload else []
            _, got = generate_in_studio(st, fields, files)
        out = os.path.join(base, f"cli{i}.mid")
        p = run([ARGS.generate, "--model", m, "--out", out, "--no-picture", *flags])
        check(p.returncode == 0, f"lstmidi-generate {flags}: {p.stdout} {p.stderr}")
        n = int(fields.get("variations", "1"))
        seed = int(fields["seed"])
        names = [out] if n == 1 else [os.path.join(base, f"cli{i}-{seed + k}.mid") for k in range(n)]
        check(len(got) == n, f"{fields}: {len(got)} variations, expected {n}")
        for k, name in enumerate(names):
            with open(name, "rb") as f:
                want = f.read()
            check(got[k] == want, f"{fields}: variation {k} differs from lstmidi-generate {flags} "
                                  f"({len(got[k])} bytes against {len(want)})")


def case_load():
    """200 generate requests, 20 at a time: every one answered (accepted or refused), in bounded
    time and memory, and the studio still answers afterwards."""
    base = workdir("load")
    _, model = train(base)
    with Studio(model, ["--queue", "8"]) as st:
        http(st.url + "/api/model")
        rss_before = st.rss_kib()
        fields = {"length": "2000", "variations": "4", "seed": "1"}

        def one(i):
            f = dict(fields, seed=str(i + 1))
            try:
                status, answer = post_generate(st, f, timeout=60)
                return status, answer.get("job")
            except Exception as e:  # noqa: BLE001 - every failure counts as unanswered
                return repr(e), None

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(one, range(200)))
        elapsed = time.time() - t0
        statuses = [s for s, _ in results]
        counts = {s: statuses.count(s) for s in set(statuses)}
        check(all(s in (202, 429, 503) for s in statuses), f"unanswered or odd answers: {counts}")
        check(counts.get(202, 0) >= 8, f"too few accepted: {counts}")
        check(counts.get(429, 0) + counts.get(503, 0) > 0,
              f"a queue of 8 should refuse some of 200 requests: {counts}")
        check(elapsed < 60, f"200 requests took {elapsed:.1f} s")
        jobs = [j for s, j in results if s == 202]
        deadline = time.time() + 120
        for j in jobs:
            r = wait_job(st, j, timeout=max(1, deadline - time.time()))
            check(r["state"] == "done", f"job {j}: {r.get('error')}")
        peak = st.rss_kib("VmHWM")
        # AddressSanitizer keeps freed memory in quarantine (256 MB by default).
        bound = (200 + (400 if "ASAN_OPTIONS" in os.environ else 0)) * 1024
        check(peak < rss_before + bound, f"memory grew from {rss_before} to a peak of {peak} KiB")
        for _ in range(3):
            status, _, _ = http(st.url + "/api/model")
            check(status == 200, f"the studio after the load: {status}")
        print(f"load: {counts} in {elapsed:.1f} s; RSS {rss_before} KiB before, peak {peak} KiB")


def browser_or_skip():
    try:
        from selenium import webdriver  # noqa: F401
        from selenium.webdriver.chrome.service import Service  # noqa: F401
    except ImportError:
        raise Skip("python3-selenium is not installed (scripts/install-deps.sh --with-browser)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chromium or not driver:
        raise Skip("chromium and chromium-driver are not installed (scripts/install-deps.sh --with-browser)")
    try:
        import mido  # noqa: F401
    except ImportError:
        raise Skip("python3-mido is not installed (the downloaded file is checked with it)")
    return chromium, driver


def case_browser():
    """The page in headless Chromium: facts, generate, piano rolls, play, download, errors,
    the training runs' live curves, and a screenshot."""
    chromium, driver_path = browser_or_skip()
    import mido
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base = workdir("browser")
    data, model = train(base, extra=["--epochs", "4"])
    runs = os.path.join(base, "runs")
    os.makedirs(runs)
    # A run that trains while the page watches it (its time budget ends it).
    live_data = copy_data(os.path.join(base, "live-data"), 20)
    trainer = subprocess.Popen([ARGS.train, "--data", live_data, "--out", os.path.join(runs, "live"),
                                "--hidden", "64", "--layers", "1", "--seq-len", "32", "--batch", "8",
                                "--epochs", "100000", "--patience", "0", "--time-budget", "40",
                                "--threads", "1", "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    downloads = os.path.join(base, "downloads")
    os.makedirs(downloads)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1100", "--autoplay-policy=no-user-gesture-required",
              "--no-first-run", "--disable-extensions", f"--user-data-dir={base}/profile"]:
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": downloads,
                                           "download.prompt_for_download": False})
    browser = None
    try:
        with Studio(model, ["--runs", runs]) as st:
            try:
                browser = webdriver.Chrome(service=Service(driver_path), options=opts)
            except Exception as e:  # noqa: BLE001
                raise Skip(f"Chromium does not start here: {str(e).splitlines()[0]}")
            browser.set_page_load_timeout(30)
            browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
            wait = WebDriverWait(browser, 60)
            browser.get(st.url + "/")
            wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#primer option")) > 2)
            check(not browser.find_element(By.ID, "primer-notes").is_displayed(),
                  "the notes box shows although the primer is a saved opening")
            facts = browser.find_element(By.ID, "facts-list").text
            check("events" in facts and "parameters" in facts, f"the model's facts: {facts}")

            def set_value(element_id, value):
                e = browser.find_element(By.ID, element_id)
                e.clear()
                e.send_keys(value)

            # A bad setting: the studio's 400 message appears on the page.
            set_value("seed", "abc")
            browser.find_element(By.ID, "generate").click()
            wait.until(lambda b: b.find_element(By.ID, "error").text != "")
            error = browser.find_element(By.ID, "error").text
            check("seed" in error and "abc" in error, f"the page shows the error: {error}")

            settings = {"length": "150", "temperature": "0.9", "top-k": "20", "seed": "7", "variations": "2"}
            for k, v in settings.items():
                set_value(k, v)
            Select(browser.find_element(By.ID, "primer")).select_by_value("saved:1")
            browser.find_element(By.ID, "generate").click()
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-results") == "2")
            check(browser.find_element(By.ID, "error").text == "", "an error after a good request")
            cards = browser.find_elements(By.CSS_SELECTOR, "#results .card")
            check(len(cards) == 2, f"{len(cards)} result cards, expected 2")

            # The files lstmidi-generate writes for the same settings.
            cli = os.path.join(base, "cli.mid")
            p = run([ARGS.generate, "--model", model, "--out", cli, "--no-picture", "--length", "150",
                     "--temperature", "0.9", "--top-k", "20", "--seed", "7", "--num-outputs", "2",
                     "--saved-primer", "1"])
            check(p.returncode == 0, f"lstmidi-generate: {p.stderr}")
            for k, card in enumerate(cards):
                seed = 7 + k
                drawn = int(card.get_attribute("data-notes-drawn"))
                card.find_element(By.CSS_SELECTOR, "a.download").click()
                target = os.path.join(downloads, f"lstmidi-{seed}.mid")
                deadline = time.time() + 30
                while not (os.path.exists(target) and os.path.getsize(target) > 0) and time.time() < deadline:
                    time.sleep(0.1)
                check(os.path.exists(target), f"the download of variation {k} did not arrive")
                time.sleep(0.3)
                mid = mido.MidiFile(target)
                notes = sum(1 for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0)
                check(notes > 0 and drawn == notes, f"variation {k}: {drawn} notes drawn, {notes} in the MIDI file")
                with open(target, "rb") as f, open(os.path.join(base, f"cli-{seed}.mid"), "rb") as g:
                    check(f.read() == g.read(), f"variation {k}: the download differs from lstmidi-generate's file")

            # Play: the synthesiser schedules notes and the cursor moves over the roll.
            cards[0].find_element(By.CSS_SELECTOR, "button.play").click()
            wait.until(lambda b: b.execute_script("return window.lstmidiStudio.synth.scheduled") > 0)
            check(browser.execute_script("return window.lstmidiStudio.synth.playing"), "not playing after Play")
            check(cards[0].find_element(By.CSS_SELECTOR, ".cursor").is_displayed(), "no cursor while playing")
            check(cards[0].find_element(By.CSS_SELECTOR, "button.play").text == "Stop", "Play should become Stop")
            cards[0].find_element(By.CSS_SELECTOR, "button.play").click()
            check(not browser.execute_script("return window.lstmidiStudio.synth.playing"), "Stop did not stop")
            check(not cards[0].find_element(By.CSS_SELECTOR, ".cursor").is_displayed(), "a cursor after Stop")

            # The training run's curve grows while it trains.
            wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#runs-list canvas[data-epochs]"))
            first = int(browser.find_element(By.CSS_SELECTOR, "#runs-list canvas").get_attribute("data-epochs"))
            wait.until(lambda b: int(b.find_element(By.CSS_SELECTOR, "#runs-list canvas")
                                     .get_attribute("data-epochs") or 0) > first)
            cards[1].find_element(By.CSS_SELECTOR, "button.play").click()  # playing in the picture
            browser.execute_script("window.scrollTo(0, 0)")
            shot = os.path.join(ARGS.work, "studio.png")
            browser.save_screenshot(shot)
            print(f"screenshot: {shot}")
    finally:
        if browser:
            browser.quit()
        trainer.terminate()
        trainer.wait()


def prepare(args):
    if not args.studio:
        raise Skip("lstmidi-studio is not built (cpp-httplib missing: libcpp-httplib-dev)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--studio", default="")
    ap.add_argument("--train", required=True)
    ap.add_argument("--generate", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    return main_for(globals(), ap, prepare)


if __name__ == "__main__":
    sys.exit(main())
