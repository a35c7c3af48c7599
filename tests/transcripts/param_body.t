# BODY=7BIT and BODY=8BITMIME (RFC 6152) are kept; BINARYMIME (RFC 3030) is taken, but not with DATA (503); other values 501.
C: EHLO client.example
C: MAIL FROM:<a@example.org> BODY=BINARYMIME
C: RCPT TO:<bin@example.com>
C: DATA
C: RSET
C: MAIL FROM:<a@example.org> BODY=9BIT
C: MAIL FROM:<a@example.org> BODY
C: MAIL FROM:<a@example.org> BODY=7BIT
C: RCPT TO:<seven@example.com>
C: DATA
C: hi
C: .
C: MAIL FROM:<a@example.org> BODY=8BITMIME
C: RCPT TO:<eight@example.com>
C: DATA
C: gr\xc3\xbc\xc3\x9fe
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 503 5.5.1 BODY=BINARYMIME needs BDAT*
S: 250 2.0.0 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 2
@exit 0
@contains Body: 7BIT\nRecipient: <seven@example.com>\n
@contains Body: 8BITMIME\nRecipient: <eight@example.com>\n
@contains \r\ngrüße\r\n
