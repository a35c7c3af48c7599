# tests/integration.mk - the multi-host tests, included by the Makefile.
#   make test-haproxy    three smtpd hosts (two Accept=no supervisors, one
#                        under tcpserver) behind a real HAProxy, PROXY v2
#                        and v1, one host killed mid-run
#                        (tests/integration/t_haproxy.py, ~15 s)
# Not part of make test: tests/run.sh runs tests/t_*.py only.

test-haproxy:
	sh tests/deps.sh
	env $(ENV_FLAGS) $(MAKE) --no-print-directory smtpd
	sh tests/integration/run.sh haproxy

.PHONY: test-haproxy
