# fish completion for fed-nginx-conf(1)

complete -c fed-nginx-conf -f
complete -c fed-nginx-conf -s d -l dir -x -a '(__fish_complete_directories)' -d 'The site of fed-coord'
complete -c fed-nginx-conf -s r -l run -x -a '(__fish_complete_directories)' -d "The instance's own folder"
complete -c fed-nginx-conf -s c -l cert -r -F -d "The server's certificate"
complete -c fed-nginx-conf -s K -l key -r -F -d "The server certificate's key"
complete -c fed-nginx-conf -s C -l ca -r -F -d "The authority of the holders' certificates"
complete -c fed-nginx-conf -s l -l listen -x -d 'Address and port'
complete -c fed-nginx-conf -s m -l max-size -x -d 'The largest upload'
complete -c fed-nginx-conf -s U -l user -x -a '(__fish_complete_users)' -d 'The user of the workers'
complete -c fed-nginx-conf -s o -l output -r -F -d 'Write the configuration to a file'
complete -c fed-nginx-conf -s h -l help -d 'Print usage and exit'
complete -c fed-nginx-conf -l version -d 'Print the version and exit'
