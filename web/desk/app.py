"""The staff console at /desk/: login, question box, queue, transcripts, replies, insight, audit, accounts.

Flask with Flask-Login (sessions), Flask-WTF (CSRF on every form and POST) and Flask-Limiter
(login attempts); passwords are Argon2id hashes (web/desk/accounts.py). Roles: `desk` (question
box, queue, conversations) and `admin` (also insight, CSV, audit log, accounts, deleting a
conversation). Every staff action is written to the audit log, without patient text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps
from typing import Any, Callable, Dict, Optional

import requests
from flask import Blueprint, Flask, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from actions.privacy.redact import redact
from web.desk import conversations as conv
from web.desk.accounts import ADMIN, ROLES, AccountError, Accounts
from web.desk.labels import tier_label

logger = logging.getLogger("backbot.desk")

DESK_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
)
PERIODS = (7, 30, 90, 365)


@dataclass
class DeskServices:
    """What the console works with; built once by web/server.py, replaced by fakes in tests."""

    accounts: Accounts
    rasa: conv.RasaApi
    handoffs: Any  # actions.handoff.HandoffStore
    ask: Callable[[str], Dict[str, Any]]  # the front desk's question lookup (the chat's own decision)
    tracker_engine: Callable[[], Any] = lambda: None  # SQLAlchemy engine of the tracker store
    delete_conversation: Optional[Callable[[str], Any]] = None
    labels: Optional[Any] = None
    # How a staff reply reads for the patient (messages.yml `staff_reply`): says a person writes.
    staff_message: Callable[[str], str] = lambda text: text
    extra: Dict[str, Any] = field(default_factory=dict)


def action_server_ask(actions_url: str, token: str, timeout_s: float = 15.0) -> Callable[[str], Dict[str, Any]]:
    """The question box's lookup: the action server's /frontdesk/ask (the same decision the chat uses)."""

    def ask(question: str) -> Dict[str, Any]:
        response = requests.post(
            f"{actions_url.rstrip('/')}/frontdesk/ask",
            params={"token": token},
            json={"question": question},
            timeout=timeout_s,
        )
        if response.status_code != 200:
            raise conv.RasaUnavailable(f"the action server answered HTTP {response.status_code}")
        return response.json()

    return ask


def admin_required(view: Callable) -> Callable:
    """Only for the role admin (403 for desk)."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.role != ADMIN:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def init_desk(
    app: Flask,
    services: DeskServices,
    secret: str,
    secure_cookies: bool = False,
    session_hours: float = 8.0,
    login_limit: str = "5 per minute;30 per hour",
    limit_storage: str = "memory://",
) -> None:
    """Adds the console to the app: sessions, CSRF, login limit and the /desk/ routes."""
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="backbot_desk",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        REMEMBER_COOKIE_SECURE=secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=session_hours),
        WTF_CSRF_TIME_LIMIT=int(session_hours * 3600),
        WTF_CSRF_SSL_STRICT=secure_cookies,
    )
    CSRFProtect(app)
    login_manager = LoginManager(app)
    login_manager.login_view = "desk.login"
    login_manager.login_message = "Log in om de balie te gebruiken."
    login_manager.session_protection = "strong"
    login_manager.user_loader(services.accounts.load)
    limiter = Limiter(app, key_func=get_remote_address, storage_uri=limit_storage, default_limits=[])
    app.extensions["desk_services"] = services
    app.add_template_filter(lambda at: time.strftime("%d-%m-%Y %H:%M", time.localtime(at)), "datetime")

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return render_template("desk/error.html", message="Het formulier is verlopen. Laad de pagina opnieuw."), 400

    @app.errorhandler(429)
    def too_many(error: Any) -> Any:
        return render_template(
            "desk/error.html", message="Te veel pogingen. Wacht een minuut en probeer het opnieuw."
        ), 429

    @app.errorhandler(403)
    def forbidden(error: Any) -> Any:
        return render_template("desk/error.html", message="Deze pagina is alleen voor beheerders."), 403

    @app.errorhandler(404)
    def not_found(error: Any) -> Any:
        return render_template("desk/error.html", message="Deze pagina bestaat niet."), 404

    app.register_blueprint(desk_blueprint(services, limiter, login_limit))


def desk_blueprint(services: DeskServices, limiter: Limiter, login_limit: str) -> Blueprint:  # noqa: C901 - the routes
    """The /desk/ pages."""
    desk = Blueprint("desk", __name__, url_prefix="/desk", template_folder="templates", static_folder="static")
    accounts = services.accounts

    def audit(action: str, conversation_id: Optional[str] = None, detail: str = "") -> None:
        accounts.audit(current_user.name if current_user.is_authenticated else "-", action, conversation_id, detail)

    @desk.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = DESK_CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @desk.route("/login", methods=["GET", "POST"])
    @limiter.limit(login_limit, methods=["POST"])
    def login() -> Any:
        if request.method == "POST":
            name = (request.form.get("name") or "").strip()[:40]
            user = accounts.authenticate(name, request.form.get("password") or "")
            if user is None:
                accounts.audit(name.lower() or "-", "login_failed", detail=get_remote_address())
                flash("Naam of wachtwoord klopt niet.", "error")
                return render_template("desk/login.html", name=name), 401
            login_user(user)
            accounts.audit(user.name, "login", detail=get_remote_address())
            target = request.args.get("next", "")
            return redirect(
                target if target.startswith("/desk/") and not target.startswith("//") else url_for("desk.console")
            )
        return render_template("desk/login.html", name="")

    @desk.post("/logout")
    @login_required
    def logout() -> Any:
        audit("logout")
        logout_user()
        flash("U bent uitgelogd.", "info")
        return redirect(url_for("desk.login"))

    @desk.get("/")
    @login_required
    def console() -> Any:
        question = (request.args.get("q") or "").strip()
        result, error = None, None
        if question:
            if len(question) > 2000:
                error = "Die vraag is te lang (meer dan 2000 tekens)."
            else:
                try:
                    result = services.ask(question)
                except (conv.RasaUnavailable, requests.RequestException, ValueError):
                    logger.exception("Question box: the action server did not answer")
                    error = "De assistent is nu niet bereikbaar. Probeer het zo nog eens."
                audit("ask", detail=redact(question)[:200])
        queue = _queue(services)
        return render_template("desk/console.html", question=question, result=result, error=error, queue=queue)

    @desk.get("/api/queue")
    @login_required
    def queue_json() -> Any:
        return jsonify({"items": [item.as_json() for item in _queue(services)], "at": time.time()})

    @desk.get("/conversations/<path:conversation_id>")
    @login_required
    def conversation(conversation_id: str) -> Any:
        tracker, error = _tracker(services, conversation_id)
        if tracker is None and error is None:
            abort(404)
        audit("open_conversation", conversation_id)
        handoffs = services.handoffs.for_conversation(conversation_id)
        view = conv.conversation(tracker) if tracker else None
        return render_template(
            "desk/conversation.html", conversation_id=conversation_id, view=view, handoffs=handoffs, error=error,
            tier_label=tier_label, max_reply=conv.MAX_REPLY_CHARS,
        )  # fmt: skip

    @desk.get("/api/conversations/<path:conversation_id>")
    @login_required
    def conversation_json(conversation_id: str) -> Any:
        tracker, error = _tracker(services, conversation_id)
        if error:
            return jsonify({"error": error}), 503
        if tracker is None:
            return jsonify({"error": "not found"}), 404
        view = conv.conversation(tracker)
        lines = [{"who": line.who, "text": line.text, "by": line.by, "at": line.at} for line in view.lines]
        return jsonify({"paused": view.paused, "channel": view.channel_label, "lines": lines})

    @desk.post("/conversations/<path:conversation_id>/reply")
    @login_required
    def reply(conversation_id: str) -> Any:
        text = (request.form.get("text") or "").strip()
        if not text:
            flash("Typ eerst een bericht.", "error")
        elif len(text) > conv.MAX_REPLY_CHARS:
            flash(f"Het bericht is te lang (meer dan {conv.MAX_REPLY_CHARS} tekens).", "error")
        else:
            try:
                message = services.staff_message(text)
                services.rasa.add_events(
                    conversation_id, conv.staff_reply_events(message, current_user.name), send=True
                )
                audit("reply", conversation_id, f"{len(text)} characters")
                flash("Uw bericht is verstuurd. De assistent wacht tot u het gesprek teruggeeft.", "info")
            except conv.RasaUnavailable as error:
                logger.error("Staff reply to %s failed: %s", conversation_id, error)
                flash("Het bericht is niet verstuurd: de assistent is nu niet bereikbaar.", "error")
        return redirect(url_for("desk.conversation", conversation_id=conversation_id))

    @desk.post("/conversations/<path:conversation_id>/resume")
    @login_required
    def resume(conversation_id: str) -> Any:
        try:
            services.rasa.add_events(conversation_id, conv.resume_events())
            audit("give_back", conversation_id)
            flash("De assistent beantwoordt dit gesprek weer.", "info")
        except conv.RasaUnavailable:
            flash("Dat lukte niet: de assistent is nu niet bereikbaar.", "error")
        return redirect(url_for("desk.conversation", conversation_id=conversation_id))

    @desk.post("/conversations/<path:conversation_id>/handled")
    @login_required
    def handled(conversation_id: str) -> Any:
        count = services.handoffs.mark_handled(conversation_id, current_user.name)
        try:
            tracker = services.rasa.tracker(conversation_id)
            if tracker and tracker.get("paused"):
                services.rasa.add_events(conversation_id, conv.resume_events())
        except conv.RasaUnavailable:
            flash("Afgehandeld, maar de assistent was niet bereikbaar om het gesprek over te nemen.", "error")
        audit("handled", conversation_id, f"{count} handoffs")
        flash("Gemarkeerd als afgehandeld.", "info")
        return redirect(url_for("desk.console"))

    @desk.post("/conversations/<path:conversation_id>/delete")
    @admin_required
    def delete(conversation_id: str) -> Any:
        if services.delete_conversation is None:
            abort(404)
        report = services.delete_conversation(conversation_id)
        audit("delete_conversation", conversation_id, str(report))
        flash("Het gesprek en alle gegevens ervan zijn verwijderd.", "info")
        return redirect(url_for("desk.console"))

    @desk.get("/insight")
    @admin_required
    def insight() -> Any:
        from web.desk import insight as figures  # noqa: PLC0415 - only for admins

        days = _period()
        result = _insight(services, days)
        audit("insight", detail=f"{days} days")
        charts = {}
        if result is not None:
            charts = {
                "per_day": figures.column_chart_svg("Gesprekken per dag", figures.per_day_points(result)),
                "topics": figures.bar_chart_svg(
                    "Meest gevraagde onderwerpen", [(r.label, r.count) for r in result.top_topics]
                ),
                "faq": figures.bar_chart_svg(
                    "Meest gegeven FAQ-antwoorden", [(r.label, r.count) for r in result.top_faq]
                ),
                "tiers": figures.bar_chart_svg("Doorverwijzingen per urgentie", figures.escalation_items(result)),
                "channels": figures.bar_chart_svg("Kanalen", list(result.channels.items())),
            }
        return render_template("desk/insight.html", insight=result, charts=charts, days=days, periods=PERIODS)

    @desk.get("/insight.csv")
    @admin_required
    def insight_csv() -> Any:
        from web.desk import insight as figures  # noqa: PLC0415 - only for admins

        days = _period()
        result = _insight(services, days)
        if result is None:
            abort(503)
        audit("insight_csv", detail=f"{days} days")
        name = f"inzicht-{time.strftime('%Y-%m-%d')}-{days}d.csv"
        return Response(
            figures.to_csv(result).encode(figures.CSV_ENCODING),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @desk.get("/audit")
    @admin_required
    def audit_page() -> Any:
        return render_template("desk/audit.html", entries=accounts.audit_log(300))

    @desk.route("/accounts", methods=["GET", "POST"])
    @admin_required
    def accounts_page() -> Any:
        if request.method == "POST":
            action = request.form.get("action")
            name = (request.form.get("name") or "").strip()
            try:
                if action == "create":
                    accounts.create(name, request.form.get("password") or "", request.form.get("role") or "")
                    flash(f"Account {name.lower()} is aangemaakt.", "info")
                elif action in ("disable", "enable"):
                    if name.lower() == current_user.name and action == "disable":
                        raise AccountError("U kunt uw eigen account niet uitzetten.")
                    accounts.set_active(name, action == "enable")
                    flash(f"Account {name.lower()} is {'aangezet' if action == 'enable' else 'uitgezet'}.", "info")
                elif action == "password":
                    accounts.set_password(name, request.form.get("password") or "")
                    flash(f"Het wachtwoord van {name.lower()} is gewijzigd.", "info")
                else:
                    abort(400)
                audit(f"account_{action}", detail=name.lower())
            except AccountError as error:
                flash(str(error), "error")
            return redirect(url_for("desk.accounts_page"))
        return render_template("desk/accounts.html", users=accounts.all(), roles=ROLES)

    return desk


def _period() -> int:
    try:
        days = int(request.args.get("days", "30"))
    except ValueError:
        days = 30
    return days if days in PERIODS else 30


def _insight(services: DeskServices, days: int) -> Any:
    from web.desk import insight as figures  # noqa: PLC0415

    engine = services.tracker_engine()
    if engine is None:
        return None
    until = time.time()
    return figures.compute(engine, until - days * 86400, until, labels=services.labels)


def _queue(services: DeskServices) -> list:
    cache: Dict[str, Any] = g.setdefault("trackers", {})

    def tracker_of(conversation_id: str) -> Optional[Dict[str, Any]]:
        if conversation_id not in cache:
            cache[conversation_id] = services.rasa.tracker(conversation_id)
        return cache[conversation_id]

    return conv.build_queue(services.handoffs.open_handoffs(), tracker_of)


def _tracker(services: DeskServices, conversation_id: str):
    try:
        return services.rasa.tracker(conversation_id), None
    except conv.RasaUnavailable as error:
        logger.error("Conversation %s: %s", conversation_id, error)
        return None, "De assistent is nu niet bereikbaar; het gesprek kan niet worden getoond."
