# fish completion for fed-holder(1)

complete -c fed-holder -f
complete -c fed-holder -s u -l url -x -a '(__fish_complete_directories)' -d "The coordinator's site, a URL or a folder"
complete -c fed-holder -s i -l inbox -x -a '(__fish_complete_directories)' -d 'Where updates go, a URL or a folder'
complete -c fed-holder -s k -l coordinator-key -r -F -d "The coordinator's public key"
complete -c fed-holder -s s -l secret-key -r -F -d "The holder's secret key"
complete -c fed-holder -s n -l name -x -d "The holder's name on the roster"
complete -c fed-holder -s d -l data -r -F -d "The holder's data bundle"
complete -c fed-holder -s w -l state -x -a '(__fish_complete_directories)' -d "The job's own folder"
complete -c fed-holder -s t -l train -x -a '(__fish_complete_command)' -d 'Train with this shell command'
complete -c fed-holder -s e -l epochs -x -d 'Local epochs of fed-train'
complete -c fed-holder -s a -l attempts -x -d 'Attempts a run'
complete -c fed-holder -s b -l backoff -x -d 'Seconds before the second attempt'
complete -c fed-holder -l passphrase-file -r -F -d 'The passphrase of the secret key'
complete -c fed-holder -l cacert -r -F -d "The server's certificate authority"
complete -c fed-holder -l cert -r -F -d "The holder's client certificate"
complete -c fed-holder -l key -r -F -d "The client certificate's key"
complete -c fed-holder -s h -l help -d 'Print usage and exit'
complete -c fed-holder -l version -d 'Print the version and exit'
