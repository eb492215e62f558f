"""Runs a command under a pseudo-terminal and drives it through steps, for the CLI's exec -it tests.

Usage: pty-session.py STEPS_JSON ROWS COLUMNS -- COMMAND [ARG...]
Steps: {"expect": REGEX} waits (60 s at most) until the output so far, after the last match,
matches; {"send": TEXT} types TEXT; {"resize": [ROWS, COLUMNS]} resizes the terminal (the command
gets SIGWINCH). Prints the whole output, then exits with the command's exit code, or 99 when an
expectation was not met (with a line saying which).
"""
import fcntl, json, os, pty, re, select, struct, sys, termios, time

steps = json.loads(sys.argv[1])
rows, columns = int(sys.argv[2]), int(sys.argv[3])
command = sys.argv[sys.argv.index("--") + 1:]

def set_size(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))

pid, master = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

set_size(master, rows, columns)
output = b""
seen = 0

def read_some(timeout):
    global output
    ready, _, _ = select.select([master], [], [], timeout)
    if not ready:
        return True
    try:
        data = os.read(master, 65536)
    except OSError:
        return False
    if not data:
        return False
    output += data
    return True

failed = None
for step in steps:
    if "expect" in step:
        pattern = re.compile(step["expect"].encode())
        deadline = time.monotonic() + float(os.environ.get("PTY_WAIT", "60"))
        while True:
            match = pattern.search(output, seen)
            if match:
                seen = match.end()
                break
            if time.monotonic() > deadline or not read_some(0.2):
                failed = "expected %r" % step["expect"]
                break
        if failed:
            break
    elif "send" in step:
        os.write(master, step["send"].encode())
    elif "resize" in step:
        set_size(master, step["resize"][0], step["resize"][1])
        # The kernel signals the terminal's foreground process group, as a real terminal would.
        os.killpg(os.getpgid(pid), 28)  # SIGWINCH

if failed:
    os.kill(pid, 9)
deadline = time.monotonic() + float(os.environ.get("PTY_WAIT", "60"))
while time.monotonic() < deadline and read_some(0.2):
    pass
else:
    if time.monotonic() >= deadline:
        os.kill(pid, 9)
        failed = failed or "the command did not end"
_, status = os.waitpid(pid, 0)
sys.stdout.write(output.decode(errors="replace"))
if failed:
    sys.stdout.write("\n[pty-session] %s\n" % failed)
    sys.exit(99)
sys.exit(os.waitstatus_to_exitcode(status))
