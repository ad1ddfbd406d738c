"""What the lab tests share: commands in the lab's namespaces, requests on
the processes' JSON sockets, and running a list of tests with the summary
line the suite counts ("NAME: N passed, M failed")."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_SH = os.path.join(ROOT, "scripts", "lab.sh")
_PREFIX = os.environ.get("LAB_NS_PREFIX", "ditto")
NS_CLIENT, NS_NODE, NS_PRIMARY = (_PREFIX + "-client", _PREFIX + "-node",
                                  _PREFIX + "-primary")


class Env:
    env = dict(os.environ)


def test_dirs(prefix):
    """A test program's start: the build directory (argv[1]), the tests
    asked for by name (argv[2:]), and a fresh lab directory (LAB_DIR) with
    the LeakSanitizer suppressions of the AF_XDP driver's libraries (their
    leaks on close are not ours)."""
    build = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
        os.path.join(ROOT, "build")
    lab = tempfile.mkdtemp(prefix=prefix)
    Env.env["LAB_DIR"] = lab
    supp = os.path.join(lab, "lsan.supp")
    with open(supp, "w") as f:
        f.write("leak:libxdp.so\nleak:libbpf.so\nleak:xsk_umem__create\n")
    Env.env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % supp
    return build, sys.argv[2:], lab


def stop_process(p, sig, timeout):
    """Signal p unless it is gone, wait, kill it past timeout; its exit
    status."""
    if p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
    return p.returncode


def knot_head(d, listen, key, secret):
    """What a Knot DNS configuration of the tests starts with: its
    directory d, where it listens (YAML: one address or a list), its log
    and one TSIG key (hmac-sha256)."""
    return """server:
  rundir: %(d)s
  listen: %(listen)s
log:
  - target: %(d)s/knot.log
    any: info
database:
  storage: %(d)s/db
key:
  - id: %(key)s
    algorithm: hmac-sha256
    secret: %(secret)s
""" % {"d": d, "listen": listen, "key": key, "secret": secret}


def run(cmd, check=True, timeout=120, **kw):
    p = subprocess.run(cmd, env=Env.env, capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def in_ns(ns, *cmd, **kw):
    return run(["ip", "netns", "exec", ns] + list(cmd), **kw)


def popen_ns(ns, cmd, log):
    """A long-running command in a namespace, its output to the file log."""
    return subprocess.Popen(["ip", "netns", "exec", ns] + list(cmd),
                            env=Env.env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT)


def ask(sock, req, timeout=30):
    """One request on a JSON-lines socket, the decoded answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(json.dumps(req).encode() + b"\n")
    line = s.makefile().readline()
    s.close()
    return json.loads(line)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_for(what, fn, timeout=20, every=0.2):
    """fn() until it returns something true; its value, or a failure
    naming what was awaited and the last value seen."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
        except Exception as e:  # the thing awaited may not be up yet
            last = e
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError("waited %.0f s for %s; last: %r" % (timeout, what,
                                                               last))


def run_tests(name, tests, only=()):
    """Run the tests in order; prints ok/FAIL per test; (passed, failed)."""
    passed = failed = 0
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        t = time.monotonic()
        try:
            fn()
            passed += 1
            print("ok   %s (%.1f s)" % (fn.__name__, time.monotonic() - t))
        except Exception:
            failed += 1
            print("FAIL %s (%.1f s)" % (fn.__name__, time.monotonic() - t))
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    return passed, failed


class LabSession:
    """What a lab test program's main() shares: SIGTERM (meson's timeout)
    turned into an exit that still cleans up, the lab brought up and down
    with scripts/lab.sh, the tests run, the ends of the logs printed on a
    failure and the lab directory removed (kept with KEEP=1).

        s = LabSession("dnssec", TESTS, ONLY, BUILD, LAB)
        passed, failed = s.run(setup, teardown, logs)

    setup() starts the peers once the lab is up; teardown() stops them
    (always, also after SIGTERM); logs are paths in LAB."""

    def __init__(self, name, tests, only, build, lab):
        self.name, self.tests, self.only = name, tests, only
        self.build, self.lab = build, lab
        self.terminated = []
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, sig, frame):
        self.terminated.append(sig)
        raise SystemExit("%s: %s" % (self.name, signal.Signals(sig).name))

    def _cleanup_detached(self):
        """After SIGTERM the process group gets SIGKILL soon: leave the
        lab's dataplane (its own session), namespaces and directory to a
        process of its own."""
        subprocess.Popen(["/bin/sh", "-c", 'sleep 1; "$0" down; rm -rf "$1"',
                          LAB_SH, self.lab],
                         env=Env.env, start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def run(self, setup, teardown, logs, tail=30):
        passed = failed = 0
        try:
            up = run([LAB_SH, "up", "--build", self.build, "--keep-state"],
                     check=False, timeout=180)
            if up.returncode != 0:
                print(up.stdout + up.stderr)
                raise AssertionError("could not bring the lab up")
            setup()
            passed, failed = run_tests(self.name, self.tests, self.only)
        except BaseException:
            traceback.print_exc(file=sys.stdout)
            failed = max(failed, 1, len(self.tests) - passed)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if self.terminated:
                self._cleanup_detached()
            try:
                teardown()
            except Exception as e:  # keep cleaning up
                print("%s: stopping: %s" % (self.name, e))
            if not self.terminated:
                run([LAB_SH, "down"], check=False, timeout=120)
            if failed:
                for log in logs:
                    path = os.path.join(self.lab, log)
                    if os.path.exists(path):
                        print("---- the end of %s ----" % log)
                        print("".join(open(path, errors="replace")
                                      .readlines()[-tail:]))
            if os.environ.get("KEEP"):
                print("%s: lab directory kept: %s" % (self.name, self.lab))
            elif not self.terminated:
                shutil.rmtree(self.lab, ignore_errors=True)
        return passed, failed
