# Smuggling right after 354 (".\n" and ".\r" as the first octets): no end of data, one refused message, session in step.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C~ .\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C~ .\rMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 550 5.6.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 550 5.6.0 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 0
@tmp 0
@exit 0
