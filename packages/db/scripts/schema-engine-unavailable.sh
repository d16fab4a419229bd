#!/bin/sh
echo "the Prisma schema engine is not installed here: apply migrations with npm run db:migrate (packages/db/migrations)" >&2
exit 1
