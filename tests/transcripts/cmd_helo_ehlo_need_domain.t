# HELO/EHLO without a valid name (none, bad characters, bad UTF-8, over 255 octets): 501 5.5.4, still before HELO.
C: HELO
C: EHLO
C: EHLO \x20
C: HELO bad!name
C: EHLO bad<name>
C: EHLO c\xff
C: EHLO a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.bc
C: MAIL FROM:<a@example.org>
C: EHLO [192.0.2.7]
C: EHLO a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.b
C: QUIT
S: 220 mx.test.example ESMTP*
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 503 5.5.1 *
S: EHLO-REPLY
S: EHLO-REPLY
S: 221 2.0.0 *
@exit 0
