# QUIT takes no argument (RFC 5321 4.1.1.10): 501 5.5.4 and the session goes on.
C: EHLO client.example
C: QUIT now
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 501 5.5.4 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@exit 0
