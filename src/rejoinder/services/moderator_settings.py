"""Site settings as admins edit them on the moderator pages (issue 4).

The web layer parses the form into `SettingsUpdate`; this module validates it, merges it into
the stored JSON (unknown keys are kept), writes an audit entry and clears the page cache.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rejoinder.domain.errors import InvalidInput, NotFound
from rejoinder.domain.moderation import Label
from rejoinder.domain.text import clean_line, clean_url
from rejoinder.services.context import Services
from rejoinder.services.moderator import Moderator, ModeratorUnitOfWork, authorize

MAX_LIST_ITEMS = 500
MAX_EDIT_WINDOW_S = 30 * 24 * 3600


@dataclass
class SettingsUpdate:
    """Every field of the settings form, as typed values (strings where the form has text)."""

    hold: dict[str, str] = field(default_factory=dict)
    reject: dict[str, str] = field(default_factory=dict)
    blocklist: str = ""
    allowlist: str = ""
    premoderate_all: bool = False
    premoderate_first_time: bool = False
    guest_posting: bool = True
    edit_window_s: str = ""
    support_text: str = ""
    support_amounts: list[str] = field(default_factory=list)
    support_url: str = ""


def current_form(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The stored settings as the form shows them (thresholds filled with the policy's values)."""
    from rejoinder.domain.sites import SiteSettings

    settings = SiteSettings.from_json(raw)
    policy = settings.policy()
    support = dict(settings.support or {})
    amounts = [str(a) for a in support.get("amounts") or []][:4]
    return {
        "hold": {label.value: policy.hold[label] for label in Label},
        "reject": {label.value: policy.reject[label] for label in Label},
        "blocklist": "\n".join(settings.blocklist),
        "allowlist": "\n".join(settings.allowlist),
        "premoderate_all": policy.premoderate_all,
        "premoderate_first_time": settings.premoderate_first_time,
        "guest_posting": settings.guest_posting,
        "edit_window_s": "" if settings.edit_window_s is None else str(settings.edit_window_s),
        "support_text": str(support.get("text") or ""),
        "support_amounts": amounts + [""] * (4 - len(amounts)),
        "support_url": str(support.get("url") or ""),
    }


def update_settings(
    services: Services, uow: ModeratorUnitOfWork, mod: Moderator, form: SettingsUpdate
) -> dict[str, Any]:
    """Validate and store a site's settings (admins only); returns the stored JSON."""
    authorize(mod, mod.site.slug, admin=True)
    parsed = _parse(form)
    with uow.write() as store:
        site = store.site_by_id(mod.site.id)
        if site is None:
            raise NotFound("no such site", code="site_not_found")
        stored = dict(site.raw_settings)
        moderation = dict(stored.get("moderation") or {})
        moderation.update(parsed.pop("moderation"))
        stored.update(parsed, moderation=moderation)
        if stored.get("support") is None:
            stored.pop("support", None)
        store.update_site(site.id, settings=stored)
        store.add_audit(site.id, None, mod.actor, "settings", {"keys": sorted(parsed)},
                        services.now())
    # Thread pages embed settings (edit window, support prompt): drop them everywhere.
    services.cache.clear()
    services.events.publish("*", "*", "site.settings", {})
    return stored


def _parse(form: SettingsUpdate) -> dict[str, Any]:
    moderation: dict[str, Any] = {
        "hold": {label.value: _threshold(form.hold.get(label.value), f"hold {label.value}")
                 for label in Label},
        "reject": {label.value: _threshold(form.reject.get(label.value), f"reject {label.value}")
                   for label in Label},
        "premoderate_all": form.premoderate_all,
    }
    return {
        "moderation": moderation,
        "blocklist": _words(form.blocklist, "block list"),
        "allowlist": _words(form.allowlist, "allow list"),
        "premoderate_first_time": form.premoderate_first_time,
        "guest_posting": form.guest_posting,
        "edit_window_s": _edit_window(form.edit_window_s),
        "support": _support(form),
    }


def _threshold(value: str | None, name: str) -> float:
    try:
        number = float((value or "").strip())
    except ValueError:
        raise InvalidInput(f"{name}: give a number between 0 and 1.01",
                           code="invalid_threshold") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.01:
        raise InvalidInput(f"{name}: give a number between 0 and 1.01 (1.01 = never)",
                           code="invalid_threshold")
    return round(number, 4)


def _words(text: str, name: str) -> list[str]:
    words: list[str] = []
    for line in text.splitlines():
        word = clean_line(line, field="word", max_chars=100)
        if word and word.casefold() not in {w.casefold() for w in words}:
            words.append(word)
    if len(words) > MAX_LIST_ITEMS:
        raise InvalidInput(f"{name}: at most {MAX_LIST_ITEMS} entries", code="list_too_long")
    return words


def _edit_window(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_EDIT_WINDOW_S:
        raise InvalidInput(f"edit window: whole seconds from 0 to {MAX_EDIT_WINDOW_S}",
                           code="invalid_edit_window")
    return int(value)


def _support(form: SettingsUpdate) -> dict[str, Any] | None:
    text = clean_line(form.support_text, field="support_text", max_chars=300)
    url = clean_url(form.support_url.strip() or None, field="support_url")
    amounts: list[int | float] = []
    for raw in form.support_amounts[:4]:
        if not raw.strip():
            continue
        try:
            amount = float(raw)
        except ValueError:
            raise InvalidInput("support amounts must be numbers", code="invalid_amount") from None
        if not math.isfinite(amount) or not 0 < amount <= 100000:
            raise InvalidInput("support amounts must be between 0 and 100000",
                               code="invalid_amount")
        amounts.append(int(amount) if amount.is_integer() else round(amount, 2))
    if not text and not url and not amounts:
        return None
    if not url:
        raise InvalidInput("the support prompt needs a URL", code="invalid_support")
    return {"text": text or "", "amounts": amounts, "url": url}
