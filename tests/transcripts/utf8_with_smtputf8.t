# With SMTPUTF8 on MAIL, UTF-8 addresses are accepted and kept; the message is marked UTF8SMTP.
C: EHLO client.example
C: MAIL FROM:<用户@例子.example> SMTPUTF8
C: RCPT TO:<jörg@bücher.example>
C: DATA
C: Subject: grüße
C:
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Protocol: UTF8SMTP\n
@contains Sender: <用户@例子.example>\nSMTPUTF8: yes\nRecipient: <jörg@bücher.example>\n
@contains with UTF8SMTP id 
@contains for <jörg@bücher.example>; 
@contains Subject: grüße\r\n
