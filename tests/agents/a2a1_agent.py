"""The support-bot as an a2a-sdk 1.x server (protocol 1.0: SendMessage, SendStreamingMessage).

The same small AgentExecutor as ``a2a03_agent.py``, written against the 1.x SDK's protobuf
types: the walkthrough's three tool calls (bank.py) as ``working`` status updates whose agent
message carries a kagent-style data part (``metadata.kagent_type``, author in
``metadata.kagent_author``), then the reply streamed as chunks of one artifact (``append``,
``lastChunk``), then ``TASK_STATE_COMPLETED``. ``SendMessage`` gets the SDK's folded Task.
The SDK answers only requests that carry ``A2A-Version: 1.0`` (no 0.3 compatibility here).

Needs a venv with ``a2a-sdk[http-server]`` 1.x (1.3.0) and ``uvicorn`` (``.ci/run`` makes it
and exports ``CONTROL_ROOM_A2A1_PYTHON``). Run::

    $CONTROL_ROOM_A2A1_PYTHON tests/agents/a2a1_agent.py [--port 0] [--no-streaming]

It serves the chatbot's proxy route ``/api/a2a/<ns>/<agent>/`` (agent card at
``.well-known/agent-card.json`` under it) and prints ``listening on <url>``.
"""

import uuid

from a2a.helpers.proto_helpers import new_task, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, TaskState
from google.protobuf import struct_pb2
from google.protobuf.json_format import ParseDict
from starlette.applications import Starlette

import bank


def data_part(data: dict, kind: str) -> Part:
    return Part(
        data=ParseDict(data, struct_pb2.Value()),
        metadata=ParseDict({"kagent_type": kind}, struct_pb2.Struct()),
    )


class SupportBot(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        prompt = context.get_user_input()
        if context.current_task is None:
            task = new_task(context.task_id, context.context_id, TaskState.TASK_STATE_SUBMITTED, history=[context.message])
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        await updater.start_work()
        author = {"kagent_author": bank.AUTHOR}
        for n, (name, args, response) in enumerate(bank.plan(prompt), start=1):
            call_id = f"call_{n}"
            for kind, data in (
                ("function_call", {"id": call_id, "name": name, "args": args}),
                ("function_response", {"id": call_id, "name": name, "response": response}),
            ):
                message = updater.new_agent_message([data_part(data, kind)], metadata=author)
                await updater.update_status(TaskState.TASK_STATE_WORKING, message=message)
        artifact_id = str(uuid.uuid4())
        last = len(bank.REPLY_CHUNKS) - 1
        for i, chunk in enumerate(bank.REPLY_CHUNKS):
            await updater.add_artifact(
                [new_text_part(chunk)], artifact_id=artifact_id, name="reply", append=i > 0, last_chunk=i == last
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
        description="TrustUsBank's front-line customer support assistant (a2a-sdk 1.x test agent).",
        supported_interfaces=[
            AgentInterface(url=f"http://{host}:{port}{args.prefix}/", protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        version="0.1.0",
        capabilities=AgentCapabilities(streaming=not args.no_streaming),
        default_input_modes=["text"],
        default_output_modes=["text"],
        skills=[AgentSkill(id="balance", name="Balance in USD", description="get_balance, list_recent, convert_currency", tags=["banking"])],
    )
    handler = DefaultRequestHandler(agent_executor=SupportBot(), task_store=InMemoryTaskStore(), agent_card=card)
    routes = create_agent_card_routes(card, card_url=f"{args.prefix}/.well-known/agent-card.json")
    routes += create_jsonrpc_routes(handler, rpc_url=f"{args.prefix}/")
    bank.serve(Starlette(routes=routes), sock, args.prefix)


if __name__ == "__main__":
    main()
