-- The rows of the schema-2 store ({dir}: this folder).
COPY cases FROM '{dir}/cases.csv' (HEADER);
COPY rejected FROM '{dir}/rejected.csv' (HEADER);
COPY ingest_log FROM '{dir}/ingest_log.csv' (HEADER);
COPY region FROM '{dir}/region.csv' (HEADER);
COPY region_files FROM '{dir}/region_files.csv' (HEADER);
COPY region_log FROM '{dir}/region_log.csv' (HEADER);
