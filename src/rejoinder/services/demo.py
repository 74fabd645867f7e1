"""The `demo` site served at /demo: created on first start when the database has no site."""

from __future__ import annotations

import logging

from rejoinder.domain.errors import Conflict, DomainError
from rejoinder.services.comments import Client, PostCommand, post_comment
from rejoinder.services.context import Services
from rejoinder.services.sites import create_site, list_sites

log = logging.getLogger("rejoinder.demo")

DEMO_THREAD = "/demo/welcome"
DEMO_TITLE = "The night library at the old ferry terminal"

# Written for the demo (not taken from any real thread): (author, body, index of parent or None).
DEMO_COMMENTS: list[tuple[str | None, str, int | None]] = [
    ("Marta K.", "About time. The terminal has stood empty since the bridge opened, and the "
     "reading room at the town hall is *tiny*.", None),
    (None, "I like the idea, but who pays for heating a glass hall that size in January? "
     "The council papers don't say.", None),
    ("Jonas", "Page 14 of the budget annex has an estimate: the heat pumps are part of the "
     "grant. https://example.org/budget-annex", 1),
    ("Aisha", "Will the ferry clock stay? My grandfather repaired it in the seventies.", None),
    ("Library Friends", "It stays - the architects put it above the children's section.", 3),
    ("Pete", "Counterpoint: we needed parking more than books.\n\n> a public library\n\n"
     "Fine, but where do visitors leave their cars?", None),
    ("Marta K.", "There is a bus stop right outside, and the old car park stays.", 5),
]


def ensure_demo(services: Services) -> bool:
    """Create the demo site with its original comments unless any site exists; True if created."""
    if not services.settings.create_demo or list_sites(services):
        return False
    origin = services.settings.public_url
    origins = sorted({origin, origin.replace("127.0.0.1", "localhost")})
    try:
        create_site(services, "demo", origins, name="Rejoinder demo",
                    settings={"support": {
                        "text": "Local reporting costs money. If you value it, support us.",
                        "amounts": ["5", "10", "25"],
                        "url": f"{origin}/demo#support",
                    }})
    except Conflict:
        return False  # another server process, starting at the same time, made it first
    ids: list[int] = []
    for n, (author, body, parent) in enumerate(DEMO_COMMENTS):
        # Each demo reader posts from their own (documentation-range) address, as real readers
        # would; from one address, the site's flood rule would hold the later ones.
        client = Client(ip=f"192.0.2.{n + 1}")
        try:
            result = post_comment(services, PostCommand(
                site="demo", thread=DEMO_THREAD, body=body, author_name=author,
                parent_id=ids[parent] if parent is not None else None,
                thread_title=DEMO_TITLE, thread_url=f"{origin}/demo",
            ), client)
        except DomainError as exc:  # e.g. a reply whose parent the model held: never fail start
            log.warning("demo comment %d not created: %s", n, exc.code)
            ids.append(-1)
            continue
        ids.append(result.comment.id)
    log.info("created the demo site with %d comments", len(ids))
    return True
