# One image for every service; the compose file picks the entry point.
FROM node:20.20.2-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json model_router_rules.yml ./
COPY conf ./conf
COPY models ./models
COPY services ./services
COPY scripts ./scripts
# The kill-switch audit file's folder and the Redis users' folder (named volumes are created from them, owner included).
RUN mkdir -p /app/state /app/redis-acl && chown node:node /app/state /app/redis-acl
USER node
# SERVICE = feed | strategist | risk-harmoniser | executor | web
ENV SERVICE=web
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE}/main.ts"]
