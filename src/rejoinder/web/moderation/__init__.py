"""Server-rendered moderator pages (issue 4): queue, settings, dashboard, sign-in."""

from rejoinder.web.moderation.routes import router

__all__ = ["router"]
