#!/usr/bin/env python3
"""README.md's examples, run as written against a real statusd.

README.md marks each example it promises works with an HTML comment right
before its fenced block:

  <!-- example: statusd -->    a ```sh block with one `./build/statusd ...`
                               line: statusd is (re)started with exactly that
                               command line;
  <!-- example: 202 200 -->    a ```console block: each `$ ` line (with its
                               `\\` continuations) is a command, run with bash;
                               the list is the HTTP status each must answer,
                               in order; `~202` means "answers 202 within
                               30 s", asked again every half second.

Before the first example statusd starts as `make run` starts it: from the
checkout, no flags. Commands run unchanged but for two substitutions: the
address (localhost:8080, the port picked here instead of 8080) and the
example job id README.md uses (the id of the last job the examples
created). curl gets `-o FILE -w %{http_code}` appended to read the status.
A `curl -i` example's shown `HTTP/1.1 NNN` line must agree with its status.
Every ```console block with a curl command must be marked, so none can be
left out of this test. And `make run`, which the examples start from, must
start statusd with no flags (`make -n run` ends with `./build/statusd`), so
the config file and the environment decide, as README.md says.

  test_readme_examples.py SOURCE_DIR STATUSD_BINARY
"""
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SAMPLE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
MIN_EXAMPLES = 5        # blocks README.md has today; fewer means some lost their mark
UNTIL_S = 30
MARK = re.compile(r"^<!-- example: (.*) -->$")


class Failure(Exception):
    pass


def parse(readme):
    """[(kind, statuses or argv, commands, shown lines per command)]."""
    lines = open(readme, encoding="utf-8").read().split("\n")
    examples, i = [], 0
    while i < len(lines):
        m = MARK.match(lines[i])
        fence = lines[i].startswith("```")
        if not m and not fence:
            i += 1
            continue
        if m:
            i += 1
            if i >= len(lines) or not lines[i].startswith("```"):
                raise Failure(f"README.md:{i}: an example mark not followed by a ``` block")
        lang = lines[i][3:].strip()
        start = i + 1
        i = start
        while i < len(lines) and lines[i] != "```":
            i += 1
        body = lines[start:i]
        i += 1
        if not m:
            if lang == "console" and any(l.startswith("$ curl") for l in body):
                raise Failure(f"README.md:{start}: a curl example without an example mark")
            continue
        spec = m.group(1).strip()
        if spec == "statusd":
            if lang != "sh" or len(body) != 1 or not body[0].startswith("./build/statusd"):
                raise Failure(f"README.md:{start}: 'statusd' mark on something else than "
                              "one ./build/statusd line")
            examples.append(("statusd", shlex.split(body[0])[1:], start))
            continue
        commands, shown = [], []
        for line in body:
            if line.startswith("$ "):
                commands.append(line[2:])
                shown.append([])
            elif commands and commands[-1].endswith("\\"):
                commands[-1] = commands[-1][:-1] + " " + line.strip()
            elif commands:
                shown[-1].append(line)
        statuses = spec.split()
        if len(statuses) != len(commands) or not all(
                re.fullmatch(r"~?[1-5][0-9][0-9]", s) for s in statuses):
            raise Failure(f"README.md:{start}: mark '{spec}' for {len(commands)} commands")
        examples.append(("curl", list(zip(commands, statuses, shown)), start))
    return examples


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Statusd:
    def __init__(self, src, binary, work):
        self.src, self.binary, self.work = src, binary, work
        self.proc = None
        self.port = None

    def start(self, args):
        self.stop()
        for _ in range(5):
            self.port = free_port()
            log = open(os.path.join(self.work, "statusd.log"), "ab")
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("STATUSD_") and k not in ("PORT", "REDIS_URL")}
            env["STATUSD_PORT"] = str(self.port)
            env["STATUSD_BIND"] = "127.0.0.1"
            self.proc = subprocess.Popen([self.binary] + args, cwd=self.src, env=env,
                                         stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health",
                                                timeout=2) as r:
                        if r.status == 200:
                            return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise Failure(f"statusd {' '.join(args)} did not start:\n{self.log()}")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self):
        try:
            return open(os.path.join(self.work, "statusd.log"), errors="replace").read()
        except OSError:
            return ""


def run_command(cmd, port, job_id, work):
    """Runs one README command; (status, body)."""
    line = cmd.replace("localhost:8080", f"127.0.0.1:{port}")
    if job_id is not None:
        line = line.replace(SAMPLE_ID, job_id)
    if not line.startswith("curl "):
        raise Failure(f"not a curl command: {cmd}")
    out = os.path.join(work, "out")
    full = f"{line} -o {shlex.quote(out)} -w '%{{http_code}}'"
    r = subprocess.run(["bash", "-c", full], capture_output=True, text=True, timeout=60)
    body = open(out, errors="replace").read() if os.path.exists(out) else ""
    if r.returncode != 0:
        raise Failure(f"{full}\nexited {r.returncode}: {r.stderr}")
    return int(r.stdout.strip() or 0), body


def check_make_run(src):
    r = subprocess.run(["make", "-s", "-n", "-C", src, "run", "BUILD=build"],
                       capture_output=True, text=True, timeout=60)
    last = r.stdout.strip().split("\n")[-1] if r.stdout.strip() else ""
    if r.returncode != 0 or last != "./build/statusd":
        raise Failure(f"make -n run: want it to end with './build/statusd', got "
                      f"'{last}' (exit {r.returncode}) {r.stderr}")
    print("ok: make run starts ./build/statusd with no flags")


def main():
    src, binary = sys.argv[1], sys.argv[2]
    check_make_run(src)
    examples = parse(os.path.join(src, "README.md"))
    blocks = sum(1 for e in examples if e[0] == "curl")
    if blocks < MIN_EXAMPLES:
        raise Failure(f"README.md has {blocks} marked curl examples, expected at least "
                      f"{MIN_EXAMPLES}")
    with tempfile.TemporaryDirectory(prefix="statusd-readme-") as work:
        statusd = Statusd(src, binary, work)
        try:
            statusd.start([])    # as `make run`: the checkout's config, no flags
            job_id, ran = None, 0
            for kind, what, line in examples:
                if kind == "statusd":
                    statusd.start(what)
                    print(f"README.md:{line}: started ./build/statusd {' '.join(what)}")
                    continue
                for cmd, want, shown in what:
                    until = want.startswith("~")
                    want_code = int(want.lstrip("~"))
                    if " -i " in f" {cmd} ":
                        shown_status = [l for l in shown if l.startswith("HTTP/1.1 ")]
                        if not shown_status or not shown_status[0].startswith(
                                f"HTTP/1.1 {want_code} "):
                            raise Failure(f"README.md:{line}: shows {shown_status[:1]} "
                                          f"for a command marked {want_code}")
                    deadline = time.monotonic() + (UNTIL_S if until else 0)
                    while True:
                        code, body = run_command(cmd, statusd.port, job_id, work)
                        if code == want_code or time.monotonic() >= deadline:
                            break
                        time.sleep(0.5)
                    if code != want_code:
                        raise Failure(f"README.md:{line}: {cmd}\nanswered {code}, want "
                                      f"{want}:\n{body}\nstatusd's log:\n{statusd.log()}")
                    m = re.search(r'"id":"([0-9a-f-]{36})","kind"', body)
                    if m and "/research" in cmd and "POST" in cmd:
                        job_id = m.group(1)
                    ran += 1
                    print(f"ok: README.md:{line}: {cmd[:70]} -> {code}")
            print(f"{ran} commands of {blocks} examples answered as README.md says")
        finally:
            statusd.stop()


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAILED: {e}")
        sys.exit(1)
