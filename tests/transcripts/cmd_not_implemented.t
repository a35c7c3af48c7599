# Known but unsupported commands get 502 5.5.1 and the session goes on.
C: EHLO client.example
C: EXPN staff
C: TURN
C: ETRN example.com
C: AUTH PLAIN AGJvYgBzZWNyZXQ=
C: STARTTLS
C: starttls
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 502 5.5.1 *
S: 502 5.5.1 *
S: 502 5.5.1 *
S: 502 5.5.1 *
S: 502 5.5.1 *
S: 502 5.5.1 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@exit 0
