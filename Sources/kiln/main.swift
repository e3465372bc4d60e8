import Kiln
print(Kiln.version)
