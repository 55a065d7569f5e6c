"""The walkthrough's support-bot, shared by the test agents in this directory.

What it holds: the three MCP tools the support-bot calls in act 1 (``get_balance``,
``list_recent``, ``convert_currency``), implemented here and returning the walkthrough's
values (£4,287.55 at 1.27 = $5,445.19), the order it calls them in, the reply it gives and
the chunks that reply streams in, and the small server plumbing every agent uses (bind a free
loopback port, say which, serve under the chatbot's proxy route).

No network beyond loopback, no model, no key: the servers are real A2A servers (a2a-sdk,
kagent-adk) driven by a script, so the control room's A2A client is tested against the wire
those libraries really speak.

Every agent program here takes the same arguments::

    python <agent>.py [--port 0] [--agent trustusbank-bank-agents/support-bot] [--no-streaming]

and prints one line, ``listening on http://127.0.0.1:<port>/api/a2a/<ns>/<agent>/``, once
its socket is bound (the tests then poll the agent card until it answers).
"""

import argparse
import re
import socket
import sys

CUSTOMER = "12345"
GBP_TO_USD = 1.27
BALANCE = 4287.55
# The answer the walkthrough's customer sees in every act, and the pieces it streams in.
REPLY_CHUNKS = ["£4,287.55", " ≈ $5,445.19", " at today's rate", " of 1.27."]
REPLY = "".join(REPLY_CHUNKS)
AUTHOR = "support-bot"


def get_balance(account_id: str) -> dict:
    """Returns the customer's current balance (account-mcp)."""
    if account_id != CUSTOMER:
        return {"error": f"account {account_id} not found"}
    return {"account_id": account_id, "balance": BALANCE, "currency": "GBP"}


def list_recent(account_id: str, days: int = 30) -> dict:
    """Lists the customer's transactions of the last `days` days (transaction-mcp)."""
    if account_id != CUSTOMER:
        return {"error": f"account {account_id} not found"}
    return {
        "account_id": account_id,
        "transactions": [
            {"id": "TXN-88217", "date": "2026-05-10", "description": "Tesco Manchester", "amount": -42.18, "currency": "GBP"},
            {"id": "TXN-88215", "date": "2026-05-09", "description": "Salary ACME LTD", "amount": 2850.0, "currency": "GBP"},
            {"id": "TXN-88214", "date": "2026-05-08", "description": "TfL Travel", "amount": -12.4, "currency": "GBP"},
            {"id": "TXN-88213", "date": "2026-05-07", "description": "CRYPTO-XCHG LTD", "amount": -1250.0, "currency": "GBP"},
            {"id": "TXN-88210", "date": "2026-05-06", "description": "Netflix", "amount": -10.99, "currency": "GBP"},
        ],
    }


def convert_currency(amount: float, from_ccy: str, to_ccy: str) -> dict:
    """Convert an amount between currencies (the clean acme-fx currency-converter)."""
    if (from_ccy, to_ccy) != ("GBP", "USD"):
        return {"error": f"no rate for {from_ccy}->{to_ccy}"}
    converted = round(amount * GBP_TO_USD, 2)
    return {"amount": amount, "from_ccy": from_ccy, "to_ccy": to_ccy, "rate": GBP_TO_USD, "converted": converted}


TOOLS = {f.__name__: f for f in (get_balance, list_recent, convert_currency)}


def customer_id(prompt: str) -> str:
    """The customer number the prompt names ("I am customer 12345"), else the walkthrough's."""
    found = re.search(r"customer\D*(\d+)", prompt, re.IGNORECASE)
    return found.group(1) if found else CUSTOMER


def next_call(prompt: str, results: dict) -> tuple[str, dict] | None:
    """The support-bot's next tool call, given the results it has so far (name -> response);
    None when it is ready to answer. Same order as the walkthrough's act 1."""
    account = customer_id(prompt)
    if "get_balance" not in results:
        return "get_balance", {"account_id": account}
    if "list_recent" not in results:
        return "list_recent", {"account_id": account, "days": 30}
    if "convert_currency" not in results:
        balance = results["get_balance"].get("balance", BALANCE)
        return "convert_currency", {"amount": balance, "from_ccy": "GBP", "to_ccy": "USD"}
    return None


def plan(prompt: str) -> list[tuple[str, dict, dict]]:
    """Every call of one turn with its result, in order: (name, args, response)."""
    results: dict = {}
    steps = []
    while (call := next_call(prompt, results)) is not None:
        name, args = call
        results[name] = TOOLS[name](**args)
        steps.append((name, args, results[name]))
    return steps


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--agent", default="trustusbank-bank-agents/support-bot", help="<namespace>/<agent>")
    parser.add_argument("--no-streaming", action="store_true", help="the card says it does not stream")
    args = parser.parse_args()
    args.prefix = "/api/a2a/" + args.agent.strip("/")
    return args


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def serve(app, sock: socket.socket, prefix: str) -> None:
    """Serves `app` on the bound `sock`, after saying where on stdout."""
    import asyncio

    import uvicorn

    host, port = sock.getsockname()
    print(f"listening on http://{host}:{port}{prefix}/", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="auto")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    sys.exit("bank.py is a module: run one of the agents beside it")
