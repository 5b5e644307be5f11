"""The first admin, created at the first start from DOCMAN_ADMIN_EMAIL / DOCMAN_ADMIN_PASSWORD
(or with a generated password printed once)."""

from __future__ import annotations

import sys

from loguru import logger

from server.auth.passwords import generate_password, hash_password
from server.db import users as users_db
from server.runtime import Runtime

_LOCK_KEY = 727_274_002


async def ensure_admin(rt: Runtime) -> None:
    cfg = rt.settings.auth
    async with rt.pool.connection() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        admin = await users_db.first_admin(conn)
        if admin is None:
            password = cfg.admin_password or generate_password()
            admin = await users_db.create(conn, cfg.admin_email, hash_password(password), "admin")
            logger.info("created the first admin {}", admin.email)
            if not cfg.admin_password:
                # Printed once, to the terminal only: never into the log stream.
                print(
                    f"\n  First admin created: {admin.email}\n  Generated password: {password}\n"
                    "  (set DOCMAN_ADMIN_PASSWORD to choose it; change it with `docman users reset-password`)\n",
                    file=sys.stderr,
                    flush=True,
                )
    rt.extras["default_owner"] = admin.id
