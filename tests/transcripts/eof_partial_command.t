# A command without its line end at EOF is not run: no reply to it, exit 1.
C: EHLO client.example
C~ QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
@exit 1
