"""Progress of a long fit, from the estimator's own verbose lines.

With ``verbose=1`` the estimators print one line per epoch to standard output,
``MADEEstimator: epoch 3, train NLL 25.1234, valid NLL 26.3000, 0.12 s``. The
command line puts an :class:`EpochProgress` in place of ``sys.stdout`` during
``fit``; it turns each such line into a progress line on standard error with
the time spent and an estimate of the time left, so the estimator needs no
callback of its own.
"""

import io
import re
import sys
import time

EPOCH_LINE = re.compile(
    r"^\w+: epoch (?P<epoch>\d+), train NLL (?P<train>\S+?)"
    r"(?:, valid NLL (?P<valid>\S+?))?, \S+ s$"
)


def format_duration(seconds):
    """``"42 s"``, ``"3 min 05 s"`` or ``"2 h 07 min"``."""
    seconds = int(round(max(seconds, 0)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class EpochProgress(io.TextIOBase):
    """A text stream that rewrites verbose epoch lines as progress lines.

    Parameters
    ----------
    max_iter : int
        The fit's epoch limit. The time left assumes every epoch runs, so with
        early stopping it is an upper bound.
    out : text stream, default=sys.stderr
        Where progress lines go. Lines that are not epoch lines pass through.
    clock : callable, default=time.perf_counter
        Seconds since some fixed point; the fit starts when the object is made.
    """

    def __init__(self, max_iter, out=None, clock=time.perf_counter):
        self.max_iter = max_iter
        self.out = sys.stderr if out is None else out
        self.clock = clock
        self.start = clock()
        self._pending = ""

    def writable(self):
        return True

    def write(self, text):
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self.out.write(self.progress_line(line) + "\n")
        return len(text)

    def flush(self):
        self.out.flush()

    def progress_line(self, line):
        """The progress line for one verbose line (other lines unchanged)."""
        match = EPOCH_LINE.match(line)
        if match is None:
            return line
        epoch = int(match["epoch"])
        elapsed = self.clock() - self.start
        left = elapsed / epoch * max(self.max_iter - epoch, 0)
        valid = f", valid NLL {match['valid']}" if match["valid"] else ""
        return (
            f"epoch {epoch}/{self.max_iter}, train NLL {match['train']}{valid}, "
            f"{format_duration(elapsed)} spent, at most {format_duration(left)} left"
        )
