"""Notice a provider that evaluated far less of the prompt than it was sent.

Ollama cuts a prompt longer than its `num_ctx` from the front, system prompt first, and
answers `200 OK` as if nothing happened (ollama issues 4967, 3839). Its answer's
`prompt_eval_count` is the one trace: well under the tokens sent means the model never
saw the start of the conversation. The attempt records it; `metrics.observe_attempt`
tells the operator once per model to raise that model's window.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from langgraph_failover.graph.state import Truncated

FLOOR = 256
"""Below this many tokens sent nothing is judged: the estimate's per-message allowance
would outweigh the signal on short prompts."""
RATIO = 0.5
"""Evaluated under this share of the estimate sent is a cut, not estimation error (the
estimate is rough, within tens of percent; a window cut loses far more)."""


def truncation(
    answer: BaseMessage, sent: Sequence[BaseMessage], tokens: int | None
) -> Truncated | None:
    """What the answer says was evaluated of the prompt, if well under what was sent.

    `tokens` is the estimate `fit` already made of `sent` (None: it made none).
    """
    evaluated = answer.response_metadata.get("prompt_eval_count")
    if not isinstance(evaluated, int) or isinstance(evaluated, bool):
        return None  # not Ollama, or it did not say
    if tokens is None:
        tokens = count_tokens_approximately(sent)
    if tokens < FLOOR or evaluated >= tokens * RATIO:
        return None
    return {"sent_tokens": tokens, "evaluated": evaluated}
