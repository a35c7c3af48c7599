# Malformed UTF-8 in an address (stray byte, overlong, surrogate) is a syntax error even with SMTPUTF8.
C: EHLO client.example
C: MAIL FROM:<a\xff@example.org> SMTPUTF8
C: MAIL FROM:<a\xc0\xaf@example.org> SMTPUTF8
C: MAIL FROM:<a\xed\xa0\x80@example.org> SMTPUTF8
C: MAIL FROM:<a@example.org> SMTPUTF8
C: RCPT TO:<b\x80@example.com>
C: RCPT TO:<b@ex\xe4mple.com>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 501 5.1.7 *
S: 250 2.1.0 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 221 2.0.0 *
@exit 0
