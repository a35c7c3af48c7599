# Makefile - build, test and install smtpd.
#   make                 build ./smtpd (gcc or clang: CC=clang)
#   make test            install test dependencies if missing, run all tests
#   make SANITIZE=1 test the same under AddressSanitizer + UBSan
#   make demo            build and run one session into ./demo-queue
#   make install         install into DESTDIR under PREFIX (/usr/local):
#                        sbin, man pages, systemd units, examples
#   make uninstall       remove what make install put there
#   make test-deb        build the Debian package (debian/), lintian,
#                        install, remove and purge it (root, Debian)
#   make test-deb-boot   the package in a container booted with systemd
#                        (systemd-nspawn): units, sessions, upgrade

CC	?= cc
CFLAGS	?= -O2 -g
# the flags the environment gave, before SANITIZE, STATIC and libsystemd
# add to them: make test hands these on to the make it runs (below)
shq	 = '$(subst ','\'',$(1))'
ENV_FLAGS := $(foreach v,CFLAGS CPPFLAGS LDFLAGS LDLIBS,$(if $(filter \
	   environment%,$(origin $(v))),$(v)=$(call shq,$($(v)))))
STD	 = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2
ifeq ($(SANITIZE),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=address,undefined
endif
# libsystemd is optional: found by pkg-config, WITH_SYSTEMD=0 turns it
# off.  It is dlopen'ed only when used (socket activation, journal), so
# only its headers are needed to build.  STATIC=1 links statically,
# without it.
ifeq ($(STATIC),1)
WITH_SYSTEMD = 0
WITH_TLS = 0
LDFLAGS	+= -static
endif
WITH_SYSTEMD ?= $(shell pkg-config --exists libsystemd 2>/dev/null && \
	   echo 1 || echo 0)
ifeq ($(WITH_SYSTEMD),1)
CPPFLAGS += -DHAVE_LIBSYSTEMD $(shell pkg-config --cflags libsystemd)
endif
# TLS through libtls (Debian: libtls-dev), optional the same way:
# WITH_TLS=0 builds without.  Also dlopen'ed, when a session starts TLS,
# by the SONAME of the library pkg-config finds.
WITH_TLS ?= $(shell pkg-config --exists libtls 2>/dev/null && \
	   echo 1 || echo 0)
ifeq ($(WITH_TLS),1)
TLS_SONAME := $(or $(shell objdump -p "$$(pkg-config --variable=libdir \
	   libtls)/libtls.so" 2>/dev/null | sed -n 's/^ *SONAME *//p'),libtls.so)
CPPFLAGS += -DHAVE_LIBTLS -DLIBTLS_SONAME='"$(TLS_SONAME)"' \
	   $(shell pkg-config --cflags libtls)
endif
ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) $(CPPFLAGS)
# The build configuration, in .build-config: rewritten only when its
# text changes, and everything compiled depends on it, so a build with
# another compiler, other flags, WITH_SYSTEMD, SANITIZE or STATIC
# rebuilds it all.  tests/run.sh prints it.
BUILD_CONFIG = $(CC) $(ALL_CFLAGS) | link: $(LDFLAGS) $(LDLIBS) | \
	   WITH_SYSTEMD=$(WITH_SYSTEMD) WITH_TLS=$(WITH_TLS) \
	   SANITIZE=$(SANITIZE) STATIC=$(STATIC)

# Three wings (README, SOURCE): the receiver (smtpd.c, session.c and
# spool.c here, the rest in receiver/), the queue tool (queue/) and the
# code both use (lib/).  Each wing is compiled with its own include
# path, so a dependency that points the wrong way does not build: lib
# sees only lib, the queue tool never sees the receiver, nor it the
# queue tool.
LIB	 = lib/addr.o lib/sbuf.o lib/spoolfmt.o
RECEIVER = receiver/transaction.o receiver/data.o receiver/envelope.o \
	   receiver/policy.o receiver/reply.o receiver/io.o receiver/log.o \
	   receiver/sdglue.o receiver/checks.o receiver/hook.o \
	   receiver/rcptlist.o receiver/cdb.o receiver/commit.o \
	   receiver/chat.o receiver/options.o receiver/peer.o receiver/head.o \
	   receiver/tlsio.o receiver/starttls.o receiver/auth.o \
	   receiver/base64.o receiver/checkpw.o receiver/dovecot.o \
	   receiver/netaddr.o receiver/proxy.o receiver/supervise.o receiver/bdat.o \
	   receiver/milter.o receiver/milterparse.o receiver/milters.o \
	   receiver/miltermsg.o receiver/miltermacro.o receiver/msgedit.o \
	   receiver/msgrewrite.o receiver/filter.o
OBJS	 = smtpd.o session.o spool.o $(RECEIVER) lib/addr.o lib/sbuf.o
QUEUE	 = queue/smtpd-queue.o queue/dir.o queue/msg.o queue/state.o \
	   queue/cmd.o queue/exec.o queue/deliver.o queue/loop.o \
	   queue/entry.o queue/show.o queue/clean.o queue/log.o \
	   queue/commit.o queue/report.o queue/status.o queue/notify.o
QOBJS	 = $(QUEUE) $(LIB)
RECEIVER_INC = -I. -Ireceiver -Ilib
QUEUE_INC = -Iqueue -Ilib
# the queue operations: counters, requeue/hold/release, stats --prometheus
QUEUE	+= queue/count.o queue/requeue.o queue/metrics.o
$(OBJS): INC = $(RECEIVER_INC)
$(QUEUE): INC = $(QUEUE_INC)
$(LIB): INC = -Ilib
UNIT	 = tests/unit/addr_test tests/unit/sbuf_test tests/unit/reply_test \
	   tests/unit/netaddr_test tests/unit/status_test
TOOLS	 = tests/tools/maxrss

all: smtpd smtpd-queue

smtpd: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

smtpd-queue: $(QOBJS)
	$(CC) $(LDFLAGS) -o $@ $(QOBJS) $(LDLIBS)

%.o: %.c
	$(CC) $(ALL_CFLAGS) $(INC) -c -o $@ $<

tests/tools/maxrss: tests/tools/maxrss.c
	$(CC) $(ALL_CFLAGS) -o $@ tests/tools/maxrss.c

tests/unit/sbuf_test: tests/unit/sbuf_test.c lib/sbuf.o
	$(CC) $(ALL_CFLAGS) -Ilib $(LDFLAGS) -o $@ tests/unit/sbuf_test.c \
	    lib/sbuf.o

tests/unit/reply_test: tests/unit/reply_test.c receiver/reply.o \
	    receiver/io.o lib/sbuf.o
	$(CC) $(ALL_CFLAGS) $(RECEIVER_INC) $(LDFLAGS) -o $@ \
	    tests/unit/reply_test.c receiver/reply.o receiver/io.o lib/sbuf.o

tests/unit/status_test: tests/unit/status_test.c queue/status.o \
	    queue/report.o queue/state.o queue/msg.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(QUEUE_INC) $(LDFLAGS) -o $@ \
	    tests/unit/status_test.c queue/status.o queue/report.o \
	    queue/state.o queue/msg.o $(LIB)

tests/unit/addr_test: tests/unit/addr_test.c lib/addr.o
	$(CC) $(ALL_CFLAGS) -Ilib $(LDFLAGS) -o $@ tests/unit/addr_test.c \
	    lib/addr.o

tests/unit/netaddr_test: tests/unit/netaddr_test.c receiver/netaddr.o \
	    receiver/proxy.o lib/sbuf.o
	$(CC) $(ALL_CFLAGS) $(RECEIVER_INC) $(LDFLAGS) -o $@ \
	    tests/unit/netaddr_test.c receiver/netaddr.o receiver/proxy.o \
	    lib/sbuf.o

$(OBJS) $(QOBJS) smtpd smtpd-queue $(UNIT) $(TOOLS): .build-config
.build-config: FORCE
	@printf '%s\n' $(call shq,$(BUILD_CONFIG)) | cmp -s - $@ || \
	    printf '%s\n' $(call shq,$(BUILD_CONFIG)) > $@

$(OBJS): $(wildcard *.h receiver/*.h lib/*.h)
$(QUEUE): $(wildcard queue/*.h lib/*.h)
$(LIB): $(wildcard lib/*.h)

# demo: build, then run one real session (examples/hello.smtp, a
# transcript with CRLF line ends added) into ./demo-queue and show the
# result
demo: smtpd
	@sed 's/$$/\r/' examples/hello.smtp | ./smtpd --queue ./demo-queue \
	    --hostname mx.demo.example
	@echo "--- queued in ./demo-queue/new:"
	@f=$$(ls -t demo-queue/new | head -1); echo "demo-queue/new/$$f"; \
	    cat "demo-queue/new/$$f" | tr -d '\r'

# test: the dependencies first (libsystemd-dev among them), then a make
# of its own decides the build configuration and builds
test:
	sh tests/deps.sh
	env $(ENV_FLAGS) $(MAKE) --no-print-directory test-build
	sh tests/run.sh

test-build: smtpd smtpd-queue $(UNIT) $(TOOLS)

clean:
	rm -f smtpd smtpd-queue $(OBJS) $(QOBJS) $(UNIT) $(TOOLS) *.o \
	    .build-config

# install: PREFIX (default /usr/local) and DESTDIR (a staging root) as
# usual.  systemd files go where systemd's pkg-config file says (Debian:
# /lib/systemd/system, /usr/lib/sysusers.d, /usr/lib/tmpfiles.d), else
# under PREFIX/lib.  Units and examples name /usr/sbin/smtpd; they are
# installed naming $(SBINDIR)/smtpd instead.
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
# smtpd-queue goes with smtpd unless told otherwise (the Debian package:
# BINDIR=/usr/bin, as a tool users run); units then name it there
BINDIR	?= $(SBINDIR)
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/smtpd
SD_VAR	 = $(shell pkg-config --variable=$(1) systemd 2>/dev/null)
SYSTEMDUNITDIR ?= $(or $(call SD_VAR,systemdsystemunitdir),$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(or $(call SD_VAR,sysusersdir),$(PREFIX)/lib/sysusers.d)
TMPFILESDIR ?= $(or $(call SD_VAR,tmpfilesdir),$(PREFIX)/lib/tmpfiles.d)
INSTALL	?= install
SBIN_PROGS = smtpd smtpd-queue
UNITS	 = smtpd.socket smtpd@.service smtpd-submission.socket \
	   smtpd-submission@.service smtps.socket smtps@.service \
	   smtpd-fast.socket smtpd-fast.service smtpd-deliver.path \
	   smtpd-deliver.service smtpd-queue-clean.service \
	   smtpd-queue-clean.timer smtpd-queue-metrics.service \
	   smtpd-queue-metrics.timer
EXAMPLES = xinetd/smtpd xinetd/smtps tcpserver/run tcpserver/tcp.smtp \
	   tcpserver/run-smtps tcpserver/tcp.smtps smtpd-tls.conf \
	   smtpd-milter.conf smtpd.default
POLICY_EXAMPLES = check-mailbox greylist relay-by-cert sender-login \
	   checkpassword-crypt
FAIL2BAN_EXAMPLES = fail2ban/filter.d/smtpd.conf fail2ban/jail.d/smtpd.conf
FIXPATH	 = sed -e 's|/usr/sbin/smtpd-queue|@BINDIR@/smtpd-queue|g' \
	   -e 's|/usr/sbin/smtpd|$(SBINDIR)/smtpd|g' \
	   -e 's|@BINDIR@/smtpd-queue|$(BINDIR)/smtpd-queue|g'

install: $(SBIN_PROGS)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(SYSTEMDUNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(DOCDIR)/examples/xinetd \
	    $(DESTDIR)$(DOCDIR)/examples/tcpserver \
	    $(DESTDIR)$(DOCDIR)/examples/fail2ban/filter.d \
	    $(DESTDIR)$(DOCDIR)/examples/fail2ban/jail.d
	$(INSTALL) -m 0755 smtpd $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 smtpd-queue $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 man/smtpd.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 man/smtpd-spool.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 man/smtpd-queue.1 $(DESTDIR)$(MANDIR)/man1/
	for f in $(UNITS); do \
	    $(FIXPATH) units/$$f > $(DESTDIR)$(SYSTEMDUNITDIR)/$$f && \
	    chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$f || exit 1; done
	$(INSTALL) -m 0644 units/smtpd.sysusers $(DESTDIR)$(SYSUSERSDIR)/smtpd.conf
	$(INSTALL) -m 0644 units/smtpd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/smtpd.conf
	for f in $(EXAMPLES); do \
	    $(FIXPATH) units/$$f > $(DESTDIR)$(DOCDIR)/examples/$$f && \
	    chmod 0644 $(DESTDIR)$(DOCDIR)/examples/$$f || exit 1; done
	chmod 0755 $(DESTDIR)$(DOCDIR)/examples/tcpserver/run \
	    $(DESTDIR)$(DOCDIR)/examples/tcpserver/run-smtps
	for f in $(POLICY_EXAMPLES); do \
	    $(INSTALL) -m 0755 examples/$$f $(DESTDIR)$(DOCDIR)/examples/ \
	    || exit 1; done
	for f in $(FAIL2BAN_EXAMPLES); do \
	    $(INSTALL) -m 0644 examples/$$f \
	    $(DESTDIR)$(DOCDIR)/examples/$$f || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/smtpd $(DESTDIR)$(BINDIR)/smtpd-queue
	rm -f $(DESTDIR)$(MANDIR)/man8/smtpd.8 \
	    $(DESTDIR)$(MANDIR)/man5/smtpd-spool.5 \
	    $(DESTDIR)$(MANDIR)/man1/smtpd-queue.1 \
	    $(DESTDIR)$(SYSUSERSDIR)/smtpd.conf \
	    $(DESTDIR)$(TMPFILESDIR)/smtpd.conf
	for f in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$f; done
	for f in $(EXAMPLES) $(POLICY_EXAMPLES) $(FAIL2BAN_EXAMPLES); do \
	    rm -f $(DESTDIR)$(DOCDIR)/examples/$$f; done
	rmdir $(DESTDIR)$(DOCDIR)/examples/xinetd \
	    $(DESTDIR)$(DOCDIR)/examples/tcpserver \
	    $(DESTDIR)$(DOCDIR)/examples/fail2ban/filter.d \
	    $(DESTDIR)$(DOCDIR)/examples/fail2ban/jail.d \
	    $(DESTDIR)$(DOCDIR)/examples/fail2ban \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || :

.PHONY: install uninstall

.PHONY: all demo test test-build clean FORCE

# fuzz, valgrind-test, stress and the fault shim (issue 5)
include tests/reliability.mk
include tests/integration.mk
# the Debian package: build, lintian, install, remove (make test-deb),
# and under systemd in a container (make test-deb-boot)
include tests/deb.mk
