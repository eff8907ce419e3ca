#!/usr/bin/env python3
"""Loads an HTML page in headless Chromium over the DevTools protocol (stdlib only) and reports.

Usage: report_browser.py PAGE.html --eval CHECK.js --screenshot OUT.png [--chromium PATH] [--timeout 60]

Chromium is driven through --remote-debugging-pipe (it reads CDP messages on fd 3 and writes them
on fd 4, each JSON message ending in a NUL byte). The page is opened from file://, and once it has
loaded this prints one JSON object on stdout: the console messages, uncaught exceptions, log
entries and network request URLs seen, the value of the JavaScript expression in CHECK.js, the path
of the full-page PNG screenshot and the Chromium version. Exits 0 whenever the browser could be
driven (the caller judges the page); 1 with a one-line error on stderr when Chromium could not be
started or a protocol call failed or timed out. Chromium defaults to $TAXISTREAM_CHROMIUM, then
`chromium` on PATH (scripts/lib/chromium.sh installs it).
"""
import argparse, base64, fcntl, json, math, os, pathlib, queue, shutil, signal, subprocess, sys, tempfile
import threading, time

SETTLE_JS = """new Promise(resolve => {
  const frames = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
  if (document.readyState === 'complete') frames(); else addEventListener('load', frames);
  setTimeout(() => resolve(false), 2000);  // rAF can stall in a hidden page; do not hang on it
})"""


class CdpError(Exception):
    pass


class Cdp:
    """A CDP connection over two pipe fds: a reader thread routes responses by id, queues events."""

    def __init__(self, write_fd, read_fd, deadline, describe_exit):
        self._out = os.fdopen(write_fd, "wb", buffering=0)
        self._in = os.fdopen(read_fd, "rb", buffering=0)
        self._deadline, self._describe_exit = deadline, describe_exit
        self._next_id, self._responses, self._closed = 0, {}, False
        self._cond = threading.Condition()
        self.events = queue.Queue()
        threading.Thread(target=self._read_loop, daemon=True).start()

    def _read_loop(self):
        buffer = b""
        try:
            while chunk := self._in.read(1 << 16):
                *messages, buffer = (buffer + chunk).split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        with self._cond:
                            self._responses[message["id"]] = message
                            self._cond.notify_all()
                    else:
                        self.events.put(message)
        except (OSError, ValueError):
            pass
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def remaining(self, what):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise CdpError(f"timed out waiting for {what}")
        return left

    def call(self, method, params=None, session=None):
        with self._cond:
            self._next_id += 1
            call_id = self._next_id
        message = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            self._out.write(json.dumps(message).encode() + b"\0")
        except OSError as error:
            raise CdpError(f"{method}: cannot write to Chromium ({error}); {self._describe_exit()}")
        with self._cond:
            while call_id not in self._responses:
                if self._closed:
                    raise CdpError(f"{method}: Chromium closed the pipe; {self._describe_exit()}")
                self._cond.wait(min(self.remaining(method), 0.5))
            response = self._responses.pop(call_id)
        if "error" in response:
            raise CdpError(f"{method} failed: {response['error'].get('message', response['error'])}")
        return response.get("result", {})

    def next_event(self, what):
        """The next queued event, waiting for one up to the overall deadline."""
        while True:
            try:
                return self.events.get(timeout=min(self.remaining(what), 0.5))
            except queue.Empty:
                if self._closed:
                    raise CdpError(f"Chromium closed the pipe waiting for {what}; {self._describe_exit()}")


def remote_text(obj):
    """Printable text of a Runtime.RemoteObject (a console argument)."""
    if "value" in obj:
        return obj["value"] if isinstance(obj["value"], str) else json.dumps(obj["value"])
    return obj.get("unserializableValue") or obj.get("description") or obj.get("type", "")


def exception_text(details):
    exception = details.get("exception") or {}
    return exception.get("description") or exception.get("value") or details.get("text", "")


class Report:
    def __init__(self):
        self.console, self.exceptions, self.log, self.requests = [], [], [], []

    def absorb(self, event):
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(remote_text(arg) for arg in params.get("args", []))
            self.console.append({"type": params.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            self.exceptions.append(exception_text(params.get("exceptionDetails", {})))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.log.append({key: entry.get(key) for key in ("level", "text", "url")})
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            self.requests.append(url[:200] + "..." if url.startswith("data:") and len(url) > 200 else url)


def start_chromium(binary, profile_dir, stderr_file):
    """Starts Chromium in its own process group; returns (process, write fd, read fd)."""
    to_chromium_r, to_chromium_w = os.pipe()
    from_chromium_r, from_chromium_w = os.pipe()

    def child_fds():  # runs in the child: fd 3 = what Chromium reads, fd 4 = what it writes
        read_end = fcntl.fcntl(to_chromium_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4
        write_end = fcntl.fcntl(from_chromium_w, fcntl.F_DUPFD, 10)
        os.dup2(read_end, 3)
        os.dup2(write_end, 4)

    flags = ["--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--mute-audio", f"--user-data-dir={profile_dir}", "--window-size=1280,900", "about:blank"]
    try:
        process = subprocess.Popen([binary, *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr_file, pass_fds=(3, 4), preexec_fn=child_fds,
                                   start_new_session=True)
    finally:
        os.close(to_chromium_r)
        os.close(from_chromium_w)
    return process, to_chromium_w, from_chromium_r


def drive(cdp, page_url, check_js, screenshot_path):
    report = Report()
    version = cdp.call("Browser.getVersion")
    target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        cdp.call(f"{domain}.enable", session=session)
    while not cdp.events.empty():  # events of about:blank, before our page
        report.absorb(cdp.events.get())
    navigation = cdp.call("Page.navigate", {"url": page_url}, session=session)
    if navigation.get("errorText"):
        raise CdpError(f"navigating to {page_url} failed: {navigation['errorText']}")
    while True:
        event = cdp.next_event("Page.loadEventFired")
        report.absorb(event)
        if event.get("method") == "Page.loadEventFired" and event.get("sessionId") == session:
            break
    cdp.call("Runtime.evaluate", {"expression": SETTLE_JS, "awaitPromise": True}, session=session)
    evaluation = cdp.call("Runtime.evaluate", {"expression": check_js, "returnByValue": True,
                                               "awaitPromise": True}, session=session)
    result = None
    if "exceptionDetails" in evaluation:
        report.exceptions.append("CHECK.js: " + exception_text(evaluation["exceptionDetails"]))
    else:
        result = evaluation.get("result", {}).get("value")
    metrics = cdp.call("Page.getLayoutMetrics", session=session)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    clip = {"x": 0, "y": 0, "width": max(1, math.ceil(size["width"])),
            "height": max(1, math.ceil(size["height"])), "scale": 1}
    shot = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                               "clip": clip}, session=session)
    with open(screenshot_path, "wb") as out:
        out.write(base64.b64decode(shot["data"]))
    while not cdp.events.empty():  # everything read before the last response
        report.absorb(cdp.events.get())
    return {"console": report.console, "exceptions": report.exceptions, "log": report.log,
            "requests": report.requests, "result": result, "screenshot": screenshot_path,
            "chromium": version.get("product", "")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page")
    parser.add_argument("--eval", dest="check", required=True, help="file holding a JS expression")
    parser.add_argument("--screenshot", required=True, help="where to write the full-page PNG")
    parser.add_argument("--chromium", default=os.environ.get("TAXISTREAM_CHROMIUM") or "chromium")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below still runs

    binary = shutil.which(args.chromium)
    if not binary:
        sys.exit(f"report_browser: chromium not found: {args.chromium!r} (see scripts/lib/chromium.sh)")
    if not os.path.isfile(args.page):
        sys.exit(f"report_browser: no such page: {args.page}")
    with open(args.check, encoding="utf-8") as f:
        check_js = f.read()
    page_url = pathlib.Path(args.page).resolve().as_uri()  # file:///..., percent-encoded

    temp_dir = tempfile.mkdtemp(prefix="report-browser-")
    stderr_path = os.path.join(temp_dir, "chromium.stderr")
    process = None
    try:
        with open(stderr_path, "wb") as stderr_file:
            process, write_fd, read_fd = start_chromium(binary, os.path.join(temp_dir, "profile"),
                                                        stderr_file)

        def describe_exit():
            code = process.poll()
            with open(stderr_path, errors="replace") as f:
                lines = [line.strip() for line in f if line.strip()]
            return (f"exit code {code}" if code is not None else "still running") + \
                (f", last stderr line: {lines[-1]}" if lines else "")

        cdp = Cdp(write_fd, read_fd, deadline, describe_exit)
        output = drive(cdp, page_url, check_js, args.screenshot)
    except CdpError as error:
        sys.exit(f"report_browser: {error}")
    except OSError as error:
        sys.exit(f"report_browser: cannot start {binary}: {error}")
    finally:
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)
    print(json.dumps(output))


if __name__ == "__main__":
    main()
