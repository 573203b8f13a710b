"""BENCHMARKS.md is written by two benchmarks: bench/run.sh (loopback) owns
the document, bench/wan.sh owns one `## ` section of it. These helpers let
each rewrite its own part and keep the other's."""

import os

WAN_HEADING = "## Over a WAN-like link"
BATCH_HEADING = "## Many images and archives"
CACHE_HEADING = "## Cache and host memory"
HTTP2_HEADING = "## HTTP/2 over TLS"
# The sections other scripts own: bench/run.sh carries them over as they were.
OWNED_ELSEWHERE = (WAN_HEADING, BATCH_HEADING, CACHE_HEADING, HTTP2_HEADING)


def _sections(text):
    """Split markdown into (heading, body) at `## ` lines outside code
    fences; the part before the first heading has heading None."""
    parts, heading, lines, fenced = [], None, [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            parts.append((heading, "".join(lines)))
            heading, lines = line.rstrip("\n"), []
        lines.append(line)
    parts.append((heading, "".join(lines)))
    return parts


def get_section(path, heading):
    """The section under `heading` (heading line included), or None."""
    if not os.path.exists(path):
        return None
    for h, body in _sections(open(path).read()):
        if h == heading:
            return body
    return None


def put_section(path, heading, body):
    """Replace the section under `heading` with `body` (which starts with
    the heading line), or append it at the end if there is none."""
    text = open(path).read() if os.path.exists(path) else ""
    parts = _sections(text)
    # One blank line after the section, so the next heading never runs
    # into its last table.
    body = body.rstrip("\n") + "\n\n"
    if any(h == heading for h, _ in parts):
        parts = [(h, body if h == heading else b) for h, b in parts]
    else:
        if parts[-1][1] and not parts[-1][1].endswith("\n\n"):
            parts[-1] = (parts[-1][0], parts[-1][1].rstrip("\n") + "\n\n")
        parts.append((heading, body))
    with open(path + ".tmp", "w") as f:
        f.write("".join(b for _, b in parts))
    os.replace(path + ".tmp", path)
