"""URL paths of the HTTP API, shared by the server and its clients."""

API = "/api/v1"

HEALTH_LIVE = f"{API}/health/live"
HEALTH_READY = f"{API}/health/ready"
HEALTH_DEPENDENCIES = f"{API}/health/dependencies"
METRICS = "/metrics"

DOCUMENTS = f"{API}/documents"
DOCUMENTS_LIST = f"{API}/documents/list"
DOCUMENT = f"{API}/documents/{{document_id:uuid}}"
DOCUMENT_CONTENT = f"{API}/documents/{{document_id:uuid}}/content"
DOCUMENT_PAGE = f"{API}/documents/{{document_id:uuid}}/pages/{{page:int}}"
DOCUMENT_REPROCESS = f"{API}/documents/{{document_id:uuid}}/reprocess"

SEARCH = f"{API}/search"

CHAT_CONVERSATIONS = f"{API}/chat/conversations"

AUTH_TOKEN = f"{API}/auth/token"
AUTH_REFRESH = f"{API}/auth/refresh"
AUTH_LOGOUT = f"{API}/auth/logout"
AUTH_ME = f"{API}/auth/me"

USERS = f"{API}/users"
USER = f"{API}/users/{{user_id:uuid}}"
USER_DISABLE = f"{API}/users/{{user_id:uuid}}/disable"
USER_ENABLE = f"{API}/users/{{user_id:uuid}}/enable"
USER_PASSWORD = f"{API}/users/{{user_id:uuid}}/password"
USER_ROLE = f"{API}/users/{{user_id:uuid}}/role"

COLLECTIONS = f"{API}/collections"
COLLECTION = f"{API}/collections/{{collection_id:uuid}}"
COLLECTION_DOCUMENTS = f"{API}/collections/{{collection_id:uuid}}/documents"
COLLECTION_DOCUMENT = f"{API}/collections/{{collection_id:uuid}}/documents/{{document_id:uuid}}"
COLLECTION_SHARES = f"{API}/collections/{{collection_id:uuid}}/shares"
COLLECTION_SHARE = f"{API}/collections/{{collection_id:uuid}}/shares/{{email:str}}"

OPS = f"{API}/ops"

OPS_LOGS = f"{OPS}/logs"
OPS_LOGS_STREAM = f"{OPS}/logs/stream"
OPS_JOBS = f"{OPS}/jobs"
OPS_INDEX_VERIFY = f"{OPS}/index/verify"
OPS_INDEX_REBUILD = f"{OPS}/index/rebuild"
OPS_DOCUMENT_VECTORS = f"{OPS}/documents/{{document_id:uuid}}/vectors"
OPS_METRICS_SUMMARY = f"{OPS}/metrics/summary"
OPS_RUNBOOKS = f"{OPS}/runbooks"
OPS_RUNBOOK = f"{OPS}/runbooks/{{runbook_id:str}}"
OPS_RUNBOOK_RUN = f"{OPS}/runbooks/{{runbook_id:str}}/run"
OPS_FIX = f"{OPS}/fix"
OPS_INDEX_BENCHMARK = f"{OPS}/index/benchmark"
OPS_INDEX_RESTORE = f"{OPS}/index/restore"
OPS_LLM_TEST = f"{OPS}/llm/test"
OPS_TOKEN_ESTIMATE = f"{OPS}/llm/estimate"

CHAT_CONVERSATION = f"{API}/chat/conversations/{{conversation_id:uuid}}"
CHAT_MESSAGES = f"{API}/chat/conversations/{{conversation_id:uuid}}/messages"

# OpenAI-compatible API (bearer token = a docman access token)
OPENAI = "/v1"
OPENAI_CHAT_COMPLETIONS = f"{OPENAI}/chat/completions"
OPENAI_MODELS = f"{OPENAI}/models"
