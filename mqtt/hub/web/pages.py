"""The console's read-only pages: the fleet table with its filters, one kiosk's health and outcomes, reconcile."""
from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from mqtt.hub.web.views import backend, render, viewer

STATES = ("", "online", "offline")  # the fleet table's state filter: all, or one state
HISTORY = 60  # telemetry samples on a kiosk's page: half an hour at the default 30 s
OUTCOMES = 50  # of each type (commands, configs)


async def fleet(request: Request) -> Response:
    """Every kiosk's last state, filtered by store and online/offline (query parameters, a plain GET form)."""
    account = await viewer(request)
    store, state = request.query_params.get("store", ""), request.query_params.get("state", "")
    if state not in STATES:
        raise HTTPException(400, f"state {state!r}: choose online, offline or all")
    everyone = await backend(request).run(backend(request).store.fleet_kiosks)
    shown = [k for k in everyone
             if (not store or k.store == store) and (not state or k.online == (state == "online"))]
    return render(request, "fleet.html", account, {
        "kiosks": shown, "stores": sorted({k.store for k in everyone}), "store": store, "state": state,
        "total": len(everyone), "online": sum(k.online for k in everyone)})


async def kiosk(request: Request) -> Response:
    """One kiosk: its last state, its health history, its last commands and config outcomes."""
    account = await viewer(request)
    kiosk_id = request.path_params["kiosk"]
    db = backend(request)
    found = await db.run(db.store.fleet_kiosk, kiosk_id)
    if found is None:
        raise HTTPException(404, f"The hub has never heard of kiosk {kiosk_id}.")
    history = await db.run(db.store.fleet_history, kiosk_id, HISTORY)
    outcomes = await db.run(db.store.fleet_outcomes, kiosk_id, None, 2 * OUTCOMES)
    return render(request, "kiosk.html", account, {
        "kiosk": found, "history": history,
        "commands": [o for o in outcomes if o.type == "command"][:OUTCOMES],
        "configs": [o for o in outcomes if o.type == "config"][:OUTCOMES]})


async def reconcile(request: Request) -> Response:
    """Overdrafts and sequence clashes a manager must settle, oldest first."""
    account = await viewer(request)
    items = await backend(request).run(backend(request).store.reconcile)
    return render(request, "reconcile.html", account, {"items": items})
