# Verbs, FROM:/TO: and parameter keywords and values are case-insensitive.
C: ehlo client.example
C: mail from:<a@example.org> size=10 body=8bitmime
C: rCpT tO:<b@example.com> notify=failure
C: data
C: Subject: lower case
C:
C: hi
C: .
C: NoOp
C: vrfy b
C: help
C: rset
C: quit
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 250 2.0.0 *
S: 252 2.*
S: 214 2.0.0 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Size: 10\nBody: 8BITMIME\n
@contains Recipient: <b@example.com>\nNotify: FAILURE\n
