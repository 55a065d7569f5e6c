"""The support-bot as kagent runs it: kagent-adk 0.10.4's own A2A server (protocol 0.3) around
a google-adk ``LlmAgent``, with a scripted model instead of an LLM.

``ScriptedModel`` is a google-adk ``BaseLlm`` that needs no network and no key: each model
turn it reads the conversation ADK hands it and makes the walkthrough support-bot's next tool
call (get_balance, list_recent, convert_currency — real ADK function tools, implemented in
bank.py), and once it has every result it answers "£4,287.55 ≈ $5,445.19 at today's rate of
1.27." — in partial chunks when ADK asks for a stream, as a model served over SSE does, then
the whole text (ADK's contract for streaming models). Everything else is kagent's code:
``KAgentApp`` builds the FastAPI app, kagent's executor turns ADK events into A2A events
(the user's message as the first status-update, ``kagent_adk_partial`` chunks, the full
message again, then an artifact), exactly the wire the control room meets in the demo.

Needs a venv with ``kagent-adk==0.10.4`` (``.ci/run`` makes it and exports
``CONTROL_ROOM_KAGENT_PYTHON``; see there for the pip invocation). Run::

    $CONTROL_ROOM_KAGENT_PYTHON tests/agents/kagent_agent.py [--port 0] [--no-streaming]

``--no-streaming`` is a kagent agent with ``stream: false``: the card says so and ADK runs
the model without streaming. It serves the chatbot's proxy route ``/api/a2a/<ns>/<agent>/``
(kagent's own routes mounted under it, as the controller proxies them) and prints
``listening on <url>``.
"""

import os
from typing import AsyncGenerator

# kagent-adk reads these at import time; the test agent talks to no kagent controller and
# exports no telemetry.
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.setdefault("KAGENT_URL", "http://127.0.0.1:9")

from a2a.types import AgentCapabilities, AgentCard, AgentSkill  # noqa: E402
from google.adk.agents import LlmAgent  # noqa: E402
from google.adk.models.base_llm import BaseLlm  # noqa: E402
from google.adk.models.llm_request import LlmRequest  # noqa: E402
from google.adk.models.llm_response import LlmResponse  # noqa: E402
from google.genai import types  # noqa: E402
from kagent.adk import KAgentApp  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402

import bank  # noqa: E402

# ADK agent names must be identifiers: kagent's author for support-bot is this.
ADK_NAME = "support_bot"


class ScriptedModel(BaseLlm):
    """The walkthrough's support-bot model, as a script."""

    model: str = "scripted-support-bot"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        prompt = ""
        results: dict = {}
        for content in llm_request.contents or []:
            for part in content.parts or []:
                if content.role == "user" and part.text:
                    prompt = part.text
                if part.function_response is not None:
                    results[part.function_response.name] = part.function_response.response or {}
        call = bank.next_call(prompt, results)
        if call is not None:
            name, args = call
            function_call = types.FunctionCall(id=f"call_{len(results) + 1}", name=name, args=args)
            yield LlmResponse(content=types.Content(role="model", parts=[types.Part(function_call=function_call)]))
            return
        if stream:
            for chunk in bank.REPLY_CHUNKS:
                yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=chunk)]), partial=True)
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text=bank.REPLY)]),
            partial=False,
            turn_complete=True,
        )


def support_bot() -> LlmAgent:
    return LlmAgent(
        name=ADK_NAME,
        model=ScriptedModel(),
        description="TrustUsBank's front-line customer support assistant.",
        instruction="Answer the customer's banking questions with the tools.",
        tools=[bank.get_balance, bank.list_recent, bank.convert_currency],
    )


def main() -> None:
    args = bank.arguments(__doc__.splitlines()[0])
    sock = bank.bind(args.port)
    host, port = sock.getsockname()
    streaming = not args.no_streaming
    card = AgentCard(
        name=bank.AUTHOR,
        description="TrustUsBank's front-line customer support assistant (kagent-adk test agent).",
        url=f"http://{host}:{port}{args.prefix}/",
        version="0.1.0",
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text"],
        default_output_modes=["text"],
        skills=[AgentSkill(id="balance", name="Balance in USD", description="get_balance, list_recent, convert_currency", tags=["banking"])],
    )
    kagent = KAgentApp(
        root_agent_factory=support_bot,
        agent_card=card,
        kagent_url="http://127.0.0.1:9",
        app_name=ADK_NAME,
        stream=streaming,
    ).build(local=True)
    bank.serve(Starlette(routes=[Mount(args.prefix, app=kagent)]), sock, args.prefix)


if __name__ == "__main__":
    main()
