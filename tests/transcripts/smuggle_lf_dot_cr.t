# SMTP smuggling with "\n.\r": not an end of data; the one message is refused (550 5.6.0), no smuggled transaction, session in step.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C~ Subject: x\r\n\r\nbody\n.\rMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n
C: MAIL FROM:<a@example.org>
C: RCPT TO:<clean@example.com>
C: DATA
C: Subject: clean
C:
C: clean
C: .
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
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@tmp 0
@exit 0
@contains Recipient: <clean@example.com>\n\n
@absent evil@
@absent victim@
@absent smuggled
@absent Recipient: <b@example.com>
