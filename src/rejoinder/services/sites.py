"""Publishers' use cases: sites, API tokens, the demo site, the moderation queue, export."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rejoinder.domain.errors import NotFound
from rejoinder.domain.sites import ApiToken, Role, Site
from rejoinder.domain.text import check_slug, clean_line, clean_origin
from rejoinder.services.context import Services, new_token, token_hash
from rejoinder.services.moderation import require_moderator


def create_site(
    services: Services, slug: str, origins: Sequence[str], name: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Site:
    check_slug(slug)
    clean_origins = [clean_origin(origin) for origin in origins]
    title = clean_line(name, field="name", max_chars=200) or slug
    with services.uow.write() as store:
        return store.create_site(slug, title, clean_origins, settings or {}, services.now())


def create_token(services: Services, site_slug: str, role: Role, label: str | None = None) -> str:
    """Create an API token and return it; only its hash is stored, so it is shown once."""
    token = new_token("rj")
    with services.uow.write() as store:
        site = store.site_by_slug(site_slug)
        if site is None:
            raise NotFound(f"no site {site_slug!r}", code="site_not_found")
        store.add_token(site.id, role, token_hash(token), label, services.now())
    return token


def list_sites(services: Services) -> list[Site]:
    with services.uow.read() as store:
        return store.list_sites()


def all_origins(services: Services) -> frozenset[str]:
    return frozenset(o for site in list_sites(services) for o in site.origins)


def moderation_queue(
    services: Services, token: ApiToken | None, site_slug: str, limit: int = 100
) -> list[dict[str, Any]]:
    with services.uow.read() as store:
        site = store.site_by_slug(site_slug)
        if site is None:
            raise NotFound(f"no site {site_slug!r}", code="site_not_found")
        require_moderator(token, site)
        items = store.queue(site.id, limit)
        reasons = store.flag_reasons([c.id for c, _ in items])
    out = []
    for comment, thread in items:
        verdict = comment.moderation or {}
        item = comment.to_json()
        del item["replies"]
        item.update(
            thread={"key": thread.key, "title": thread.title, "url": thread.url},
            body_md=comment.body_md,
            scores=verdict.get("scores"),
            reasons=verdict.get("reasons", []),
            evidence=verdict.get("evidence", []),
            backend=verdict.get("backend"),
            flags=reasons.get(comment.id, []),
        )
        out.append(item)
    return out


def export_site(services: Services, site_slug: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every row of a site, for `rejoinder export` (lossless JSON lines)."""
    with services.uow.read() as store:
        site = store.site_by_slug(site_slug)
        if site is None:
            raise NotFound(f"no site {site_slug!r}", code="site_not_found")
        yield from store.export_rows(site.id)
