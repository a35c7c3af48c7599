# Unknown commands and an empty line: 500 5.5.1, and the session goes on.
C: EHLO client.example
C: XYZZY
C: MAILFROM:<a@example.org>
C: HELOX client.example
C:
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@exit 0
