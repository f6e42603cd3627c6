from distribute.cli import main

main()
