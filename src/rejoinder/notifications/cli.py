"""`rejoinder outbox status|flush`: look into the outbox, or deliver what is due now.

`flush` is also how mail goes out where the in-process worker is off (REJOINDER_OUTBOX_POLL_S=0),
e.g. from cron. Several flushes and server workers may run at once: rows are leased.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rejoinder.cli_common import ConfigOpt, settings_or_exit

app = typer.Typer(help="The outbox of notification mail and webhooks.", no_args_is_help=True)



def _worker(config: Path | None):  # type: ignore[no-untyped-def]
    from rejoinder.cli import _services
    from rejoinder.notifications.emails import Mailer
    from rejoinder.notifications.outbox import OutboxWorker, make_mailer
    from rejoinder.notifications.webhooks import WebhookSender

    services = _services(settings_or_exit(config))
    mailer: Mailer = make_mailer(services)
    db = services.uow.db
    return OutboxWorker(services, db, mailer, WebhookSender(services.settings.webhook_timeout_s),
                        poll_s=0)


@app.command()
def status(config: ConfigOpt = None) -> None:
    """Counts of pending, due, sent and failed messages, and the oldest pending one."""
    from rejoinder.storage.outbox import outbox_status

    worker = _worker(config)
    with worker.db.reader.connect() as conn:
        counts = outbox_status(conn, worker.services.now())
    for key, value in counts.items():
        typer.echo(f"{key}\t{value.isoformat() if hasattr(value, 'isoformat') else value}")


@app.command()
def flush(config: ConfigOpt = None) -> None:
    """Deliver every message due now; failures are rescheduled as the server would."""
    worker = _worker(config)
    sent = worker.deliver_due()
    typer.echo(f"sent {sent}")
