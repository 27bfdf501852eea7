"""robots.txt as RFC 9309 reads it, on top of the standard library's parser.

- 2xx: the rules apply (and a Crawl-delay or Request-rate for our agent slows us further);
- 4xx: there are no rules, everything may be crawled;
- 5xx or unreachable (after the usual retries): assume everything is disallowed, and ask again
  on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.robotparser import RobotFileParser


@dataclass(frozen=True)
class RobotsRules:
    parser: RobotFileParser | None = None  # None: no parsed file, `allow_all` decides
    allow_all: bool = True
    reason: str = ""

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return self.parser.can_fetch(user_agent, url)

    def min_interval(self, user_agent: str) -> float:
        """Seconds between requests the site asks of this agent (0 when it asks nothing)."""
        if self.parser is None:
            return 0.0
        delay = float(self.parser.crawl_delay(user_agent) or 0)
        rate = self.parser.request_rate(user_agent)
        if rate and rate.requests > 0:
            delay = max(delay, rate.seconds / rate.requests)
        return delay


def rules_from_response(status: int | None, text: str = "") -> RobotsRules:
    """The rules a robots.txt answer means; `status` None when it could not be fetched at all."""
    if status is None or status >= 500 or status == 429:
        return RobotsRules(allow_all=False, reason=f"robots.txt unavailable ({status or 'no answer'})")
    if status >= 400:
        return RobotsRules(allow_all=True, reason=f"no robots.txt ({status})")
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return RobotsRules(parser)
