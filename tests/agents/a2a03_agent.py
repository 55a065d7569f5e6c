"""The support-bot as an a2a-sdk 0.3 server (protocol 0.3: message/send, message/stream).

A small AgentExecutor, no model: it makes the walkthrough's three tool calls (bank.py) and
reports each as kagent does — a ``working`` status-update whose agent message carries a data
part with ``metadata.kagent_type`` ``function_call`` / ``function_response`` and the author
in ``metadata.kagent_author`` — then streams the reply as chunks of one artifact
(``append``, ``lastChunk``) and completes. ``message/send`` gets the same events folded by
the SDK into one Task (history + artifact).

Needs a venv with ``a2a-sdk[http-server]==0.3.26`` and ``uvicorn`` (``.ci/run`` makes it and
exports ``CONTROL_ROOM_A2A03_PYTHON``). Run::

    $CONTROL_ROOM_A2A03_PYTHON tests/agents/a2a03_agent.py [--port 0] [--no-streaming]

It serves the chatbot's proxy route ``/api/a2a/<ns>/<agent>/`` (agent card at
``.well-known/agent-card.json`` under it) and prints ``listening on <url>``.
"""

import uuid

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.apps import A2AStarletteApplication
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentSkill, DataPart, Part, TaskState, TextPart
from a2a.utils import new_task

import bank


class SupportBot(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        prompt = context.get_user_input()
        task = context.current_task
        if task is None:
            task = new_task(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        author = {"kagent_author": bank.AUTHOR}
        for n, (name, args, response) in enumerate(bank.plan(prompt), start=1):
            call_id = f"call_{n}"
            for kind, data in (
                ("function_call", {"id": call_id, "name": name, "args": args}),
                ("function_response", {"id": call_id, "name": name, "response": response}),
            ):
                part = Part(root=DataPart(data=data, metadata={"kagent_type": kind}))
                await updater.update_status(TaskState.working, message=updater.new_agent_message([part], metadata=author))
        artifact_id = str(uuid.uuid4())
        last = len(bank.REPLY_CHUNKS) - 1
        for i, chunk in enumerate(bank.REPLY_CHUNKS):
            await updater.add_artifact(
                [Part(root=TextPart(text=chunk))], artifact_id=artifact_id, name="reply", append=i > 0, last_chunk=i == last
            )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError("the support-bot finishes every turn")


def main() -> None:
    args = bank.arguments(__doc__.splitlines()[0])
    sock = bank.bind(args.port)
    host, port = sock.getsockname()
    card = AgentCard(
        name=bank.AUTHOR,
        description="TrustUsBank's front-line customer support assistant (a2a-sdk 0.3 test agent).",
        url=f"http://{host}:{port}{args.prefix}/",
        version="0.1.0",
        capabilities=AgentCapabilities(streaming=not args.no_streaming),
        default_input_modes=["text"],
        default_output_modes=["text"],
        skills=[AgentSkill(id="balance", name="Balance in USD", description="get_balance, list_recent, convert_currency", tags=["banking"])],
    )
    handler = DefaultRequestHandler(agent_executor=SupportBot(), task_store=InMemoryTaskStore())
    app = A2AStarletteApplication(agent_card=card, http_handler=handler).build(
        agent_card_url=f"{args.prefix}/.well-known/agent-card.json", rpc_url=f"{args.prefix}/"
    )
    bank.serve(app, sock, args.prefix)


if __name__ == "__main__":
    main()
