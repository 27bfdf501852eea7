"""`clipshoe crawl run|report|sites`: crawl marketplace listings into a JSONL feed, politely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Crawl marketplace listings into a product feed (docs/crawling.md).", no_args_is_help=True
)


@app.command("run")
def run(
    site: Annotated[
        str, typer.Option(help="shopee, tiki, lazada, sendo or zalora (`clipshoe crawl sites`).")
    ],
    query: Annotated[list[str] | None, typer.Option(help="Search keyword; repeat for several.")] = None,
    category: Annotated[
        list[str] | None, typer.Option(help="The site's category id or slug; repeat for several.")
    ] = None,
    pages: Annotated[int, typer.Option(min=1, help="Pages per keyword or category, at most.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Crawl folder; default <data dir>/crawl/<site>.")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Send requests here instead (a mirror, a test server).")
    ] = None,
    rate: Annotated[float | None, typer.Option(min=0.001, help="Requests per second per host.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Requests in flight per host.")] = None,
    user_agent: Annotated[str | None, typer.Option(help="User-Agent; default from settings.")] = None,
) -> None:
    """Crawl listing pages into <out>/products.jsonl; rerun the same command to resume."""
    from clipshoe.settings import get_settings
    from ingest.crawl import Crawler, CrawlFolderError, Politeness, Stream
    from ingest.marketplaces import MARKETPLACES, Listing

    site = site.lower()
    if site not in MARKETPLACES:
        raise typer.BadParameter(
            f"unknown site {site!r}; known: {', '.join(MARKETPLACES)}", param_hint="--site"
        )
    if not (query or category):
        raise typer.BadParameter("give at least one --query or --category", param_hint="--query")
    settings = get_settings()
    manners = settings.crawl
    politeness = Politeness(
        user_agent=user_agent or manners.user_agent,
        requests_per_second=rate or manners.requests_per_second,
        concurrency=concurrency or manners.concurrency,
        max_retries=manners.max_retries,
        backoff_base=manners.backoff_base,
        backoff_max=manners.backoff_max,
        timeout=manners.timeout,
    )
    base_urls = dict(manners.base_urls) | ({site: base_url} if base_url else {})
    if not all(v.strip() for v in [*(query or []), *(category or [])]):
        raise typer.BadParameter("a --query or --category must not be blank", param_hint="--query")
    streams = [Stream(site, Listing(query=q.strip())) for q in query or []]
    streams += [Stream(site, Listing(category=c.strip())) for c in category or []]
    folder = out or settings.data_dir / "crawl" / site
    try:
        report = Crawler(folder, politeness, base_urls=base_urls).run(streams, pages)
    except CrawlFolderError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(report.text())
    if report.stopped:
        typer.echo("some listings stopped on an error; run the same command again to resume them", err=True)
        raise typer.Exit(1)


@app.command("report")
def report(
    folder: Annotated[Path, typer.Argument(help="A crawl folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Pages, products, duplicates, retries and errors by kind of a crawl (running or finished)."""
    from ingest.crawl import CrawlFolderError, load_report

    try:
        crawl = load_report(folder)
    except CrawlFolderError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(crawl.as_dict(), ensure_ascii=False, indent=1) if as_json else crawl.text())


@app.command("sites")
def sites() -> None:
    """The marketplaces the crawler knows, and where their listing requests go."""
    from clipshoe.settings import get_settings
    from ingest.marketplaces import MARKETPLACES

    overrides = get_settings().crawl.base_urls
    for name, cls in MARKETPLACES.items():
        typer.echo(f"{name:8} {overrides.get(name, cls.api_url)}")
