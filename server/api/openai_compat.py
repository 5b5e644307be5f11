"""OpenAI-compatible endpoints (`/v1/chat/completions`, `/v1/models`): any OpenAI client pointed at
`<server>/v1` with a docman access token as its API key asks questions over the caller's documents.
Errors use OpenAI's `{"error": {...}}` body so those clients report them properly."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import JSONBody

from server.api.sse import sse_response
from server.chat import openai_compat as service
from server.deps import RT, CallerDep
from server.errors import AppError
from shared import routes
from shared.models.openai_compat import ChatCompletion, ChatCompletionRequest, ErrorDetail, ErrorResponse, ModelList


def _error(status: int, message: str, code: str | None, headers: dict[str, str] | None = None) -> Response[ErrorResponse]:
    body = ErrorResponse(error=ErrorDetail(message=message, type=service.error_type(status), code=code))
    return Response(body, status_code=status, headers=headers)


def _app_error(_: Request[Any, Any, Any], exc: AppError) -> Response[ErrorResponse]:
    return _error(exc.status_code, exc.message, exc.code, exc.headers)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorResponse]:
    if isinstance(exc, ValidationException):
        return _error(exc.status_code, f"The request is not valid: {exc.extra or exc.detail}", "validation_error")
    return _error(exc.status_code, str(exc.detail), None, exc.headers)


OPENAI_ERRORS: dict[type[Exception] | int, Any] = {AppError: _app_error, HTTPException: _http_error}


@post(routes.OPENAI_CHAT_COMPLETIONS, tags=["openai-compatible"], status_code=200, exception_handlers=OPENAI_ERRORS)
async def chat_completions(rt: RT, caller: CallerDep, data: JSONBody[ChatCompletionRequest]) -> Response[Any]:
    """OpenAI chat completions (streaming or not): answers the last user message from the caller's
    documents with [n] markers; the response adds a top-level `citations` list."""
    if data.stream:
        return sse_response(service.chunks(rt, caller, data))
    completion: ChatCompletion = await service.complete(rt, caller, data)
    return Response(completion)


@get(routes.OPENAI_MODELS, tags=["openai-compatible"], exception_handlers=OPENAI_ERRORS, sync_to_thread=False)
def list_models(caller: CallerDep) -> ModelList:
    """One model, `docman-rag`: retrieval-augmented answers over your documents."""
    return service.models()


HANDLERS = [chat_completions, list_models]
