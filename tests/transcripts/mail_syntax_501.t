# MAIL argument syntax errors (RFC 5321 4.1.2 grammar, never a search for '<'): 501.
C: EHLO client.example
C: MAIL
C: MAIL FROM:
C: MAIL TO:<a@example.org>
C: MAIL FROM:a@example.org
C: MAIL FROM:<a@example.org
C: MAIL FROM:<a@>
C: MAIL FROM:<@example.org>
C: MAIL FROM:<a b@example.org>
C: MAIL FROM:<a@example..org>
C: MAIL FROM:<a..b@example.org>
C: MAIL FROM:<.a@example.org>
C: MAIL FROM:<a.@example.org>
C: MAIL FROM:<a@-example.org>
C: MAIL FROM:<a@example-.org>
C: MAIL FROM:<postmaster>
C: MAIL FROM:x <a@example.org>
C: MAIL FROM:<a@example.org>SIZE=10
C: MAIL FROM:<a@example.org>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 501 5.*
S: 501 5.*
S: 501 5.*
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.*
S: 501 5.*
S: 250 2.1.0 *
S: 221 2.0.0 *
@exit 0
