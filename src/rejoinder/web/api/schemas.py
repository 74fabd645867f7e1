"""Request and response bodies of the JSON API. Strict types: "1" is not an id, 1 is not text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from rejoinder.services.comments import PostCommand

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"


def _no_nul(value: object) -> object:
    # NUL can be stored by neither PostgreSQL text nor most consumers: refuse it at the edge.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, dict):
        for v in value.values():
            _no_nul(v)
    if isinstance(value, list):
        for v in value:
            _no_nul(v)
    return value


class _In(BaseModel):
    # Unknown fields (a client trying to set "status" or "score") are dropped, not stored.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: object) -> object:
        return _no_nul(data)


class QuoteIn(_In):
    exact: StrictStr = Field(max_length=1000)
    prefix: StrictStr | None = Field(None, max_length=1000)
    suffix: StrictStr | None = Field(None, max_length=1000)


class PostCommentIn(_In):
    site: StrictStr = Field(pattern=SLUG, max_length=63)
    thread: StrictStr = Field(min_length=1, max_length=512)
    body: StrictStr = Field(min_length=1, max_length=100_000)
    parent_id: StrictInt | None = Field(None, ge=1, le=2**62)
    author_name: StrictStr | None = Field(None, max_length=1000)
    author_email: StrictStr | None = Field(None, max_length=1000)
    thread_title: StrictStr | None = Field(None, max_length=2000)
    thread_url: StrictStr | None = Field(None, max_length=4000)
    notify: Literal["replies", "thread"] | None = None
    quote: QuoteIn | None = None

    def command(self) -> PostCommand:
        """The service's command (the route and the lean posting path build it alike)."""
        return PostCommand(
            site=self.site, thread=self.thread, body=self.body, parent_id=self.parent_id,
            author_name=self.author_name, author_email=self.author_email,
            thread_title=self.thread_title, thread_url=self.thread_url, notify=self.notify,
            quote=self.quote.model_dump() if self.quote else None,
        )


class EditCommentIn(_In):
    body: StrictStr = Field(max_length=100_000)


class VoteIn(_In):
    # Strict: JSON true and 1.0 are not votes (a lax Literal[1, -1, 0] took both as 1).
    value: StrictInt = Field(ge=-1, le=1, description="1 up, -1 down, 0 withdraws the vote")


class FlagIn(_In):
    reason: StrictStr = Field(max_length=32)
    note: StrictStr | None = Field(None, max_length=2000)


class ModerationActionIn(_In):
    action: Literal["approve", "reject", "ban_author"]


class AuthorOut(BaseModel):
    name: str
    is_guest: bool


class CommentOut(BaseModel):
    id: int
    parent_id: int | None
    author: AuthorOut
    body_html: str
    created_at: str
    edited_at: str | None
    score: int
    upvotes: int
    downvotes: int
    reply_count: int
    deleted: bool = False
    quote: dict[str, str] | None = None
    replies: list[CommentOut]


class ThreadOut(BaseModel):
    key: str
    title: str | None
    url: str | None
    comment_count: int
    locked: bool


class ThreadPage(BaseModel):
    thread: ThreadOut
    comments: list[CommentOut]
    next_cursor: str | None
    edit_window_seconds: int
    support: dict[str, object] | None = None


class PostedComment(BaseModel):
    id: int
    parent_id: int | None
    status: Literal["published", "pending", "rejected"]
    author: AuthorOut
    body_html: str
    created_at: str
    edited_at: str | None
    score: int
    upvotes: int
    downvotes: int
    reply_count: int
    quote: dict[str, str] | None = None
    replies: list[CommentOut] = []
    edit_token: str | None = None


class VoteOut(BaseModel):
    score: int
    upvotes: int
    downvotes: int
    my_vote: int


class CountsOut(BaseModel):
    counts: dict[str, int]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class QueueOut(BaseModel):
    site: str
    items: list[dict[str, object]]


class RegisterIn(_In):
    site: StrictStr = Field(pattern=SLUG, max_length=63)
    email: StrictStr = Field(max_length=254)
    password: StrictStr = Field(max_length=200)
    name: StrictStr = Field(max_length=100)


class LoginIn(_In):
    site: StrictStr = Field(pattern=SLUG, max_length=63)
    email: StrictStr = Field(max_length=254)
    password: StrictStr = Field(max_length=200)


class SsoIn(_In):
    site: StrictStr = Field(pattern=SLUG, max_length=63)
    token: StrictStr = Field(max_length=8000)


class MagicLinkIn(_In):
    site: StrictStr = Field(pattern=SLUG, max_length=63)
    email: StrictStr = Field(max_length=254)
    return_url: StrictStr = Field(max_length=2048)


class MagicLinkVerifyIn(_In):
    site: StrictStr = Field(pattern=SLUG, max_length=63)
    token: StrictStr = Field(max_length=100)


class UserOut(BaseModel):
    id: int
    name: str
    email: str | None
    role: str
    sso: bool


class SessionOut(BaseModel):
    session_token: str
    user: UserOut
