# SMTP smuggling: "\n.\n" inside the data must not end the message.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C~ Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n
C: QUIT
S: 220 *
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 HELP
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 550 5.6.0 *
S: 221 2.0.0 *
@new 0
@tmp 0
@exit 0
